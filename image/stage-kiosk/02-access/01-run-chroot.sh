#!/bin/bash -e
# No password anywhere: the technician account (pi-gen's first user) logs in over SSH with a key only and
# uses sudo without a password; root and the kiosk user cannot log in.
. /usr/lib/kiosk/image.env
user="${FIRST_USER_NAME}"
if ! id "${user}" >/dev/null 2>&1; then
	useradd --create-home --shell /bin/bash "${user}"
fi
for group in sudo adm systemd-journal dialout; do
	getent group "${group}" >/dev/null && usermod -aG "${group}" "${user}"
done
passwd --lock "${user}" >/dev/null
passwd --lock root >/dev/null
home=$(getent passwd "${user}" | cut -d: -f6)
if [ -f /usr/lib/kiosk/technicians.pub ]; then
	install -d -m 0700 -o "${user}" -g "${user}" "${home}/.ssh"
	cat /usr/lib/kiosk/technicians.pub >> "${home}/.ssh/authorized_keys"
	chown "${user}:${user}" "${home}/.ssh/authorized_keys"
	chmod 0600 "${home}/.ssh/authorized_keys"
fi
echo "${user} ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/010-${user}-nopasswd"
chmod 0440 "/etc/sudoers.d/010-${user}-nopasswd"
systemctl enable ssh.service
