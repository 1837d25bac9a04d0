#!/bin/bash -e
if [ -f /etc/systemd/system/kiosk-state.service ]; then
	systemctl enable kiosk-state.service
fi
