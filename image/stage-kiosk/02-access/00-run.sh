#!/bin/bash -e
# Technicians' public keys (KIOSK_SSH_KEYS: an authorized_keys file; pi-gen's PUBKEY_SSH_FIRST_USER works too).
install -D -m 0644 files/sshd-kiosk.conf "${ROOTFS_DIR}/etc/ssh/sshd_config.d/50-kiosk.conf"
if [ -n "${KIOSK_SSH_KEYS:-}" ]; then
	install -D -m 0644 "${KIOSK_SSH_KEYS}" "${ROOTFS_DIR}/usr/lib/kiosk/technicians.pub"
fi
# Host keys are made on each kiosk at its first boot, never shared by every copy of the image.
install -D -m 0644 files/ssh-hostkeys.conf "${ROOTFS_DIR}/etc/systemd/system/ssh.service.d/50-kiosk-hostkeys.conf"
rm -f "${ROOTFS_DIR}"/etc/ssh/ssh_host_*
