#!/bin/bash -e
# Host side: copy the kiosk (its wheel, and a wheelhouse of its dependencies when one is given) and the
# systemd/ files into the image. KIOSK_WHEELHOUSE: a directory of wheels for the image's architecture and
# Python; without it, pip fetches the dependencies from PyPI inside the chroot (building pyscard needs the
# build packages listed in 01-run-chroot.sh).
: "${KIOSK_SRC:?KIOSK_SRC must point at the kiosk source tree (the repository root)}"
: "${KIOSK_WHEEL:?KIOSK_WHEEL must name the kiosk wheel to install}"
install -d -m 0755 "${ROOTFS_DIR}/opt/kiosk-install/wheels" "${ROOTFS_DIR}/usr/lib/kiosk"
# pi-gen does not export custom settings into the chroot: record the ones the chroot scripts need.
cat > "${ROOTFS_DIR}/usr/lib/kiosk/image.env" <<ENV
KIOSK_MODE=${KIOSK_MODE:-headless}
FIRST_USER_NAME=${FIRST_USER_NAME:-technicien}
ENV
install -m 0644 "${KIOSK_WHEEL}" "${ROOTFS_DIR}/opt/kiosk-install/"
if [ -n "${KIOSK_WHEELHOUSE:-}" ]; then
	cp "${KIOSK_WHEELHOUSE}"/*.whl "${ROOTFS_DIR}/opt/kiosk-install/wheels/"
fi

units="${KIOSK_SRC}/systemd"
for unit in kiosk.service kiosk-params.service kiosk-params.timer kiosk-sync.service \
            kiosk-sync.timer kiosk-firstboot.service; do
	install -m 0644 "${units}/${unit}" "${ROOTFS_DIR}/etc/systemd/system/${unit}"
done
install -D -m 0644 "${units}/kiosk-sysusers.conf" "${ROOTFS_DIR}/usr/lib/sysusers.d/kiosk.conf"
install -D -m 0644 "${units}/kiosk-tmpfiles.conf" "${ROOTFS_DIR}/usr/lib/tmpfiles.d/kiosk.conf"
install -D -m 0644 "${units}/kiosk-pcscd.rules" "${ROOTFS_DIR}/etc/polkit-1/rules.d/50-kiosk-pcscd.rules"
install -D -m 0755 files/kiosk-firstboot "${ROOTFS_DIR}/usr/local/sbin/kiosk-firstboot"
install -D -m 0644 "${KIOSK_SRC}/README.md" "${ROOTFS_DIR}/opt/kiosk/share/README.md"
# The official list of communes for birthplaces typed at the desk (kiosk/domain/places.py reads /usr/share/kiosk/...):
# KIOSK_COMMUNES_DIR, else the copy ./run fetched into the source tree's venv (npm @etalab/decoupage-administratif).
communes="${KIOSK_COMMUNES_DIR:-${KIOSK_SRC}/.venv/share/kiosk/decoupage-administratif}"
if [ -f "${communes}/communes.json" ]; then
	install -d -m 0755 "${ROOTFS_DIR}/usr/share/kiosk/decoupage-administratif"
	install -m 0644 "${communes}"/*.json "${ROOTFS_DIR}/usr/share/kiosk/decoupage-administratif/"
else
	echo "01-kiosk: no list of communes in ${communes}: birthplaces only by INSEE code on this image" >&2
fi
# Tickets carry patient data: libcups accepts any print server certificate by default (ipps://); not on a kiosk.
install -d -m 0755 "${ROOTFS_DIR}/etc/cups"
cat > "${ROOTFS_DIR}/etc/cups/client.conf" <<'CONF'
# The reception kiosk: a print server's TLS certificate must chain to a trusted root and be valid.
ValidateCerts Yes
AllowAnyRoot No
AllowExpiredCerts No
CONF
