#!/bin/bash
# Builds the kiosk's Raspberry Pi 4 / 3B+ disk image, arm64, from Debian bookworm's own archive: mmdebstrap
# with Debian's linux-image-arm64 and raspi-firmware (as Debian's own Raspberry Pi images are made), then the
# very stage scripts pi-gen runs (image/stage-kiosk, + stage-kiosk-desk with KIOSK_MODE=desk), then a disk:
# a FAT boot partition (firmware, kernel, initrd, device trees, config.txt, cmdline.txt) and an ext4 root. The
# state partition is made on the kiosk at first boot (kiosk-state-setup), where the card's size is known.
#
#   sudo image/build.sh [--out DIR]
#
# Needs root (chroot, mounts) and, on a non-arm64 host, qemu-user-static with binfmt_misc (the arm64 maintainer
# scripts and pip run emulated). Downloads are cached in $KIOSK_BUILD_CACHE (default /var/cache/kiosk-build):
# the .deb files, and a wheelhouse of the kiosk's dependencies for arm64 in which pyscard (no arm64 wheel on
# PyPI) is compiled once, in a throw-away arm64 chroot, not at every build.
# Writes to DIR (default /var/tmp/kiosk-image): kiosk-<build id>-arm64.img, .img.xz, .img.sha256 and
# .img.xz.sha256, the SBOM (sbom.cdx.json: Debian packages with versions, Python packages with versions and
# wheel hashes), build-info.json, and summary.txt (sizes, build time).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "${HERE}/.." && pwd)"
CACHE="${KIOSK_BUILD_CACHE:-/var/cache/kiosk-build}"
MIRROR="${KIOSK_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
ARCH=arm64
OUT=/var/tmp/kiosk-image
while [ $# -gt 0 ]; do
	case "$1" in
		--out) OUT="$2"; shift ;;
		*) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "build: root needed (mmdebstrap in root mode, chroot, mounts): sudo $0" >&2; exit 2; }
for tool in mmdebstrap mkfs.vfat mcopy mkfs.ext4 sfdisk xz; do
	command -v "${tool}" >/dev/null || { echo "build: ${tool} absent (apt-get install mmdebstrap dosfstools mtools e2fsprogs fdisk xz-utils qemu-user-static)" >&2; exit 2; }
done
if [ "$(dpkg --print-architecture)" != arm64 ] && ! grep -qs enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
	echo "build: arm64 binaries cannot run here: install qemu-user-static, mount binfmt_misc (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) and run update-binfmts --enable" >&2
	exit 2
fi
unset PIP_FIND_LINKS
# The kiosk's dependencies that PyPI has no arm64 (aarch64) wheel for: compiled in the image's root, once.
NATIVE="pyscard pycups"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
PY="${SRC}/.venv/bin/python"
[ -x "${PY}" ] || PY=python3
t0=$(date +%s)
[ -n "${KIOSK_SSH_KEYS:-}" ] || say "KIOSK_SSH_KEYS unset: no technician key in the image (no SSH access)"
# the stage's scripts run from their own folders: an absolute path, checked before the long part of the build
[ -z "${KIOSK_SSH_KEYS:-}" ] || KIOSK_SSH_KEYS="$(readlink -e "${KIOSK_SSH_KEYS}")" || { echo "build: KIOSK_SSH_KEYS: no such file" >&2; exit 2; }
export KIOSK_SSH_KEYS="${KIOSK_SSH_KEYS:-}"

STAGES=(stage-kiosk)
[ "${KIOSK_MODE:-headless}" = desk ] && STAGES+=(stage-kiosk-desk)
# shellcheck source=image/lib/stage.sh
. "${HERE}/lib/stage.sh"
# What a Raspberry Pi boots with, from Debian (raspi-firmware is in non-free-firmware), plus the stage's own list
# so that mmdebstrap installs everything in one pass (the stage's apt-get then finds it installed).
BASE_PACKAGES="systemd systemd-sysv systemd-resolved udev kmod initramfs-tools linux-image-arm64 raspi-firmware
	ca-certificates e2fsprogs dosfstools iproute2 netbase"
packages="$(echo "${BASE_PACKAGES} $(stage_packages "${STAGES[@]}")" | tr -s ' \n\t' ' ')"
py_key=$( { grep -A30 '^dependencies' "${SRC}/pyproject.toml"; } | sha256sum | cut -c1-16)
DEBS="${CACHE}/debs-${SUITE}-${ARCH}"
WHEELS="${CACHE}/wheels-${ARCH}-${py_key}"

mkdir -p "${CACHE}" "${DEBS}" "${OUT}"
WORKDIR="$(mktemp -d /var/tmp/kiosk-image-build.XXXXXX)"
ROOTFS_DIR="${WORKDIR}/rootfs"
MOUNTS=()
cleanup() {
	local i
	for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
	if findmnt -rn -o TARGET | grep -q "^${WORKDIR}/"; then
		echo "build: mounts left under ${WORKDIR}: not deleting it" >&2; return
	fi
	rm -rf --one-file-system "${WORKDIR}"
}
trap cleanup EXIT
mount_chroot() {
	local root="$1"
	mount -t proc proc "${root}/proc"; MOUNTS+=("${root}/proc")
	mount --bind /sys "${root}/sys"; MOUNTS+=("${root}/sys")
	mount --bind /dev "${root}/dev"; MOUNTS+=("${root}/dev")
	mount --bind /dev/pts "${root}/dev/pts"; MOUNTS+=("${root}/dev/pts")
	mount -t tmpfs tmpfs "${root}/run"; MOUNTS+=("${root}/run")
}
umount_chroot() {
	local i
	for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount "${MOUNTS[$i]}"; done
	MOUNTS=()
}
# mmdebstrap with the .deb cache synced in and out (mmdebstrap's documented caching recipe)
debstrap() {
	local variant="$1" include="$2" target="$3"; shift 3
	mmdebstrap --mode=root --arch="${ARCH}" --variant="${variant}" \
		--components="main non-free-firmware" --include="$(echo "${include}" | tr ' ' ',')" \
		--aptopt='Acquire::Retries "3"' \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--setup-hook="sync-in ${DEBS} /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives ${DEBS}" \
		"$@" "${SUITE}" "${target}" "${MIRROR}"
}

# -- the arm64 wheelhouse (once per dependency set) ------------------------------------------------------
if [ ! -e "${WHEELS}/.complete" ] && [ "$(ls "${WHEELS}"/sdist 2>/dev/null | wc -l)" -lt "$(echo ${NATIVE} | wc -w)" ]; then
	rm -rf "${WHEELS}" && mkdir -p "${WHEELS}/sdist"
	say "wheelhouse: the kiosk's dependencies for ${ARCH} (CPython 3.11, bookworm's Python)"
	clean_source "${SRC}" "${WORKDIR}/src"
	"${PY}" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "${WORKDIR}/dist" "${WORKDIR}/src"
	# Runtime requirements of the kiosk's wheel, minus those PyPI has no arm64 wheel for (compiled below)
	"${PY}" - "${WORKDIR}"/dist/kiosk_accueil-*.whl > "${WORKDIR}/requirements.txt" <<'PYEOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as whl:
    meta = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
    for line in whl.read(meta).decode().splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            req = line.split(":", 1)[1].strip()
            print(req)
PYEOF
	grep -Ev "^(${NATIVE// /|})\b" "${WORKDIR}/requirements.txt" > "${WORKDIR}/binary.txt"
	"${PY}" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --implementation cp \
		--python-version 3.11 --abi cp311 --abi abi3 --abi none \
		--platform manylinux_2_36_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
		--platform manylinux2014_aarch64 --platform linux_aarch64 --platform any \
		-d "${WHEELS}" -r "${WORKDIR}/binary.txt"
	for pkg in ${NATIVE}; do
		"${PY}" -m pip download --quiet --disable-pip-version-check --no-binary="${pkg}" --no-deps \
			-d "${WHEELS}/sdist" "$(grep -E "^${pkg}\b" "${WORKDIR}/requirements.txt")"
	done
fi
# The NATIVE packages have no arm64 wheel on PyPI: when the wheelhouse lacks them, they are compiled once inside
# this build's root (emulated), with Debian's compilers installed by mmdebstrap and purged right after. Each
# compiled wheel is also kept by its own name and version, so a change in other dependencies rebuilds nothing.
NATIVE_CACHE="${CACHE}/native-${ARCH}"
BUILD_DEPS=""
if [ ! -e "${WHEELS}/.complete" ]; then
	missing=0
	for sdist in "${WHEELS}"/sdist/*.tar.gz; do
		stem="$(basename "${sdist}" .tar.gz)"
		if ls "${NATIVE_CACHE}/${stem}-"*.whl >/dev/null 2>&1; then cp "${NATIVE_CACHE}/${stem}-"*.whl "${WHEELS}/"
		else missing=1; fi
	done
	[ "${missing}" = 0 ] && touch "${WHEELS}/.complete"
fi
if [ ! -e "${WHEELS}/.complete" ]; then
	BUILD_DEPS="gcc python3-dev swig libpcsclite-dev libcups2-dev python3-setuptools python3-wheel python3-pip"
	packages="${packages} ${BUILD_DEPS}"
fi

# -- the root filesystem ----------------------------------------------------------------------------------
say "mmdebstrap: Debian ${SUITE} ${ARCH} with the kernel, raspi-firmware and the stage's packages"
# /boot/firmware (the boot partition) is filled at the end by raspi-firmware's hook; update-initramfs is a no-op
# until then (see below).
debstrap minbase "${packages}" "${ROOTFS_DIR}" \
	--skip=cleanup/apt/lists \
	--essential-hook='mkdir -p "$1/boot/firmware" "$1/etc/default"' \
	--essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.kiosk-build --add /usr/sbin/update-initramfs && printf "#!/bin/sh\nexit 0\n" > "$1/usr/sbin/update-initramfs" && chmod 0755 "$1/usr/sbin/update-initramfs"' \
	>"${OUT}/mmdebstrap.log" 2>&1 || { tail -30 "${OUT}/mmdebstrap.log" >&2; exit 3; }

apt_chroot() { flock -w 900 "${CACHE}/apt.lock" chroot "${ROOTFS_DIR}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
mount_chroot "${ROOTFS_DIR}"
printf '#!/bin/sh\nexit 101\n' > "${ROOTFS_DIR}/usr/sbin/policy-rc.d"  # no daemon starts in the chroot
chmod 0755 "${ROOTFS_DIR}/usr/sbin/policy-rc.d"
if [ -n "${BUILD_DEPS}" ]; then
	say "wheelhouse: compiling ${NATIVE} for ${ARCH} (emulated, once; then kept in ${NATIVE_CACHE})"
	mkdir -p "${ROOTFS_DIR}/tmp/native" "${NATIVE_CACHE}"
	cp "${WHEELS}"/sdist/*.tar.gz "${ROOTFS_DIR}/tmp/native/"
	chroot "${ROOTFS_DIR}" sh -c 'cd /tmp/native && python3 -m pip wheel --quiet --no-build-isolation --no-deps --no-index -w out ./*.tar.gz' \
		>"${WORKDIR}/native.log" 2>&1 || { tail -30 "${WORKDIR}/native.log" >&2; exit 3; }
	cp "${ROOTFS_DIR}"/tmp/native/out/*.whl "${WHEELS}/"
	cp "${ROOTFS_DIR}"/tmp/native/out/*.whl "${NATIVE_CACHE}/"
	rm -rf "${ROOTFS_DIR}/tmp/native"
	touch "${WHEELS}/.complete"
	# shellcheck disable=SC2086
	apt_chroot purge -y -qq --auto-remove ${BUILD_DEPS} >"${WORKDIR}/purge.log" 2>&1 || { tail -30 "${WORKDIR}/purge.log" >&2; exit 3; }
fi

say "kiosk wheel from ${SRC}"
rm -rf "${WORKDIR}/dist"
clean_source "${SRC}" "${WORKDIR}/src"
"${PY}" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "${WORKDIR}/dist" "${WORKDIR}/src"
KIOSK_WHEEL="$(ls "${WORKDIR}"/dist/kiosk_accueil-*.whl)"
export KIOSK_SRC="${SRC}" KIOSK_WHEEL KIOSK_WHEELHOUSE="${WHEELS}" KIOSK_MODE="${KIOSK_MODE:-headless}"
export FIRST_USER_NAME="${FIRST_USER_NAME:-technicien}"
apply_stages "${STAGES[@]}" || exit 3

# -- what makes it a Raspberry Pi system ------------------------------------------------------------------
BUILD_ID="$(date -u +%Y%m%d%H%M)-$(git -C "${SRC}" rev-parse --short=10 HEAD 2>/dev/null || echo nogit)"
echo "${KIOSK_HOSTNAME:-borne-accueil}" > "${ROOTFS_DIR}/etc/hostname"
cat > "${ROOTFS_DIR}/etc/fstab" <<'EOF'
LABEL=RASPIROOT / ext4 defaults,noatime 0 1
LABEL=RASPIFIRM /boot/firmware vfat defaults,nofail 0 2
EOF
cat > "${ROOTFS_DIR}/etc/systemd/network/20-wired.network" <<'EOF'
# The desk's wired network (DHCP); a fixed address is set by the hospital's IT through the fleet or on site.
[Match]
Name=eth* en*

[Network]
DHCP=yes
EOF
# A desk with its cable out must not hold the boot for two minutes: kiosk.service wants network-online.target.
mkdir -p "${ROOTFS_DIR}/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat > "${ROOTFS_DIR}/etc/systemd/system/systemd-networkd-wait-online.service.d/kiosk.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20
EOF
on_chroot <<'EOF'
systemctl enable systemd-networkd.service systemd-resolved.service
ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
: > /etc/machine-id   # made on each kiosk at first boot, never shared between cards
rm -f /var/lib/dbus/machine-id
EOF
"${PY}" - "${ROOTFS_DIR}/usr/lib/kiosk/build-info.json" "${BUILD_ID}" "${KIOSK_MODE:-headless}" <<'PYEOF'
import json, sys, datetime
path, build_id, mode = sys.argv[1:]
json.dump({"build_id": build_id, "arch": "arm64", "suite": "bookworm", "mode": mode,
           "built": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}, open(path, "w"), indent=1)
PYEOF
# os-release names the image too (IMAGE_ID, IMAGE_VERSION: the field the kiosk's metrics report as build id)
rm -f "${ROOTFS_DIR}/etc/os-release"
{ cat "${ROOTFS_DIR}/usr/lib/os-release"; echo "IMAGE_ID=borne-accueil"; echo "IMAGE_VERSION=${BUILD_ID}"; } \
	> "${ROOTFS_DIR}/etc/os-release"
# The initrd, made once now that every package is in (under emulation each run takes minutes, and package
# triggers would otherwise remake it several times), then the boot partition: raspi-firmware's hooks copy the
# kernel, initrd and device trees and write config.txt and cmdline.txt from the settings.
on_chroot <<'EOF'
rm -f /usr/sbin/update-initramfs
dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
kver=$(ls /lib/modules | sort -V | tail -1)
update-initramfs -c -k "${kver}"
# the root by label (the same on every card), the boot log on the screen and a console on the UART
sed -i -e 's|^#\?ROOTPART=.*|ROOTPART=LABEL=RASPIROOT|' -e 's|^#\?CONSOLES=.*|CONSOLES="ttyS1,115200 tty0"|' \
	/etc/default/raspi-firmware
DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "${kver}"
EOF
rm -f "${ROOTFS_DIR}/usr/sbin/policy-rc.d"

# -- the SBOM: Debian packages and Python packages, with versions and hashes ------------------------------
chroot "${ROOTFS_DIR}" dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n' > "${WORKDIR}/dpkg.tsv"
chroot "${ROOTFS_DIR}" /opt/kiosk/bin/python -m pip list --format=json --disable-pip-version-check > "${WORKDIR}/pip.json"
umount_chroot
rm -rf "${ROOTFS_DIR}/var/lib/apt/lists/"* "${ROOTFS_DIR}/var/cache/apt/archives/"*.deb
"${PY}" "${HERE}/sbom.py" --build-id "${BUILD_ID}" --dpkg "${WORKDIR}/dpkg.tsv" --pip "${WORKDIR}/pip.json" \
	--wheels "${WHEELS}" --kiosk-wheel "${KIOSK_WHEEL}" > "${OUT}/sbom.cdx.json"

# -- the disk: p1 FAT (RASPIFIRM, the boot partition), p2 ext4 (RASPIROOT) ---------------------------------
say "disk image"
NAME="kiosk-${BUILD_ID}-arm64"
IMG="${OUT}/${NAME}.img"
boot_mib=256
mv "${ROOTFS_DIR}/boot/firmware" "${WORKDIR}/bootfs" && mkdir -p "${ROOTFS_DIR}/boot/firmware"
[ -f "${WORKDIR}/bootfs/cmdline.txt" ] && [ -f "${WORKDIR}/bootfs/config.txt" ] \
	|| { echo "build: raspi-firmware left no config.txt/cmdline.txt in /boot/firmware" >&2; exit 3; }
root_mib=$(( $(du -sm "${ROOTFS_DIR}" | cut -f1) * 115 / 100 + 200 ))
rm -f "${WORKDIR}/boot.img" "${WORKDIR}/root.img" "${IMG}"
mkfs.vfat -n RASPIFIRM -F 32 -C "${WORKDIR}/boot.img" $((boot_mib * 1024)) >/dev/null
mcopy -s -i "${WORKDIR}/boot.img" "${WORKDIR}/bootfs"/* ::/
mkfs.ext4 -q -L RASPIROOT -d "${ROOTFS_DIR}" "${WORKDIR}/root.img" "${root_mib}M"
truncate -s $((4 + boot_mib + root_mib))M "${IMG}"
printf 'label: dos\nstart=8192, size=%d, type=c, bootable\nstart=%d, size=%d, type=83\n' \
	$((boot_mib * 2048)) $((8192 + boot_mib * 2048)) $((root_mib * 2048)) | sfdisk -q "${IMG}"
dd if="${WORKDIR}/boot.img" of="${IMG}" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="${WORKDIR}/root.img" of="${IMG}" bs=1M seek=$((4 + boot_mib)) conv=notrunc,sparse status=none
cp "${ROOTFS_DIR}/usr/lib/kiosk/build-info.json" "${OUT}/build-info.json"
say "compressing"
xz -T2 -6 -k -f "${IMG}"
(cd "${OUT}" && sha256sum "${NAME}.img" > "${NAME}.img.sha256" && sha256sum "${NAME}.img.xz" > "${NAME}.img.xz.sha256")
ln -sf "${NAME}.img" "${OUT}/kiosk-arm64.img"
t1=$(date +%s)
{
	echo "build id        ${BUILD_ID}"
	echo "image           ${IMG}"
	echo "size            $(( $(stat -c %s "${IMG}") / 1048576 )) MiB ($(( $(du -k "${IMG}" | cut -f1) / 1024 )) MiB allocated), xz $(( $(stat -c %s "${IMG}.xz") / 1048576 )) MiB"
	echo "sha256          $(cut -d' ' -f1 "${IMG}.sha256")"
	echo "build time      $((t1 - t0)) s"
	echo "kernel          $(ls "${ROOTFS_DIR}"/boot/vmlinuz-* | xargs -n1 basename)"
	echo "packages        $(wc -l < "${WORKDIR}/dpkg.tsv") Debian, $("${PY}" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "${WORKDIR}/pip.json") Python (SBOM: ${OUT}/sbom.cdx.json)"
} | tee "${OUT}/summary.txt"
