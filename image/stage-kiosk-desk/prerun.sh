#!/bin/bash -e
# pi-gen: the desk screen session on top of stage-kiosk (STAGE_LIST="... stage-kiosk stage-kiosk-desk").
if [ ! -d "${ROOTFS_DIR}" ]; then
	copy_previous
fi
