#!/bin/bash -e
install -m 0644 "${KIOSK_SRC}/systemd/kiosk-desk.service" "${ROOTFS_DIR}/etc/systemd/system/kiosk-desk.service"
