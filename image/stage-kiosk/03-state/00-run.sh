#!/bin/bash -e
# Optional: state on its own partition (KIOSK_STATE_PARTITION=1, the default) and a read-only root
# (KIOSK_READONLY_ROOT=1). Raspberry Pi OS grows the root partition to the whole card at first boot: with a
# state partition wanted, that growth is left to kiosk-state-setup, which stops at KIOSK_ROOT_SIZE.
cat >> "${ROOTFS_DIR}/usr/lib/kiosk/image.env" <<ENV
KIOSK_ROOT_SIZE=${KIOSK_ROOT_SIZE:-6G}
KIOSK_READONLY_ROOT=${KIOSK_READONLY_ROOT:-0}
ENV
if [ "${KIOSK_STATE_PARTITION:-1}" = 1 ]; then
	install -m 0755 files/kiosk-state-setup "${ROOTFS_DIR}/usr/local/sbin/kiosk-state-setup"
	install -m 0644 files/kiosk-state.service "${ROOTFS_DIR}/etc/systemd/system/kiosk-state.service"
	cmdline="${ROOTFS_DIR}/boot/firmware/cmdline.txt"
	if [ -f "${cmdline}" ]; then
		sed -i 's| init=/usr/lib/raspberrypi-sys-mods/firstboot||' "${cmdline}"
	fi
fi
