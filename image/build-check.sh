#!/bin/bash
# Build check: apply the image's pi-gen stage (stage-kiosk) to a Debian bookworm root filesystem made with
# debootstrap, the way pi-gen applies it to Raspberry Pi OS, then show the kiosk installed, its units
# enabled and verified, its user, the SSH policy, and `kiosk doctor` running inside the tree.
#
#   image/build-check.sh [--fetch-only | --cache-ready] [--workdir DIR] [--keep]
#
# Downloads (debootstrap's packages, the stage's .deb files, the Python wheels) are cached in
# $KIOSK_BUILD_CACHE (default /var/cache/kiosk-build): --fetch-only fills the cache (network needed), and a
# later run with KIOSK_BUILD_OFFLINE=1 builds from the cache alone (what the test suite does).
# Needs root (debootstrap, chroot, mounts). Writes $WORKDIR/report.json for tests/integration/test_image_build.py.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "${HERE}/.." && pwd)"
CACHE="${KIOSK_BUILD_CACHE:-/var/cache/kiosk-build}"
MIRROR="${KIOSK_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
ARCH=amd64
OFFLINE="${KIOSK_BUILD_OFFLINE:-0}"
WORKDIR="" KEEP=0 FETCH_ONLY=0 CACHE_READY=0
while [ $# -gt 0 ]; do
	case "$1" in
		--fetch-only) FETCH_ONLY=1 ;;
		--workdir) WORKDIR="$2"; shift ;;
		--keep) KEEP=1 ;;
		--cache-ready) CACHE_READY=1 ;;
		*) echo "usage: $0 [--fetch-only | --cache-ready] [--workdir DIR] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "build-check: root needed (debootstrap, chroot)" >&2; exit 2; }
# A host's extra wheel directory means nothing inside the image (pip warns about it there).
unset PIP_FIND_LINKS
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
PY="${SRC}/.venv/bin/python"
[ -x "${PY}" ] || PY=python3

STAGES=(stage-kiosk)
[ "${KIOSK_MODE:-headless}" = desk ] && STAGES+=(stage-kiosk-desk)
# shellcheck source=image/lib/stage.sh
. "${HERE}/lib/stage.sh"
# KIOSK_EXTRA_PACKAGES: installed before the stage (qemu-boot-check.sh adds a kernel to boot the tree).
packages() { echo "$(stage_packages "${STAGES[@]}") ${KIOSK_EXTRA_PACKAGES:-}" | tr -s ' ' ' '; }
py_key=$( { grep -A30 '^dependencies' "${SRC}/pyproject.toml"; grep -A4 '^\[project.optional-dependencies\]' "${SRC}/pyproject.toml"; } | sha256sum | cut -c1-16)
pkg_key=$(packages | sha256sum | cut -c1-16)
TARBALL="${CACHE}/debootstrap-${SUITE}-${ARCH}-minbase.tgz"
APT_CACHE="${CACHE}/apt-${SUITE}-${ARCH}"
WHEELS="${CACHE}/wheels-${py_key}"
APT_STAMP="${APT_CACHE}/fetched-${pkg_key}"  # the stage's package list whose .deb files are cached
if [ "${CACHE_READY}" = 1 ]; then  # can an offline build run? (exit 0 yes, 1 no with the reason)
	for need in "${TARBALL}" "${APT_CACHE}/lists" "${APT_STAMP}" "${WHEELS}"; do
		[ -e "${need}" ] || { echo "${need} absent: run image/build-check.sh --fetch-only (network)"; exit 1; }
	done
	exit 0
fi
mkdir -p "${CACHE}" "${APT_CACHE}/archives/partial" "${APT_CACHE}/lists/partial"

# -- the root filesystem --------------------------------------------------------------------------------
OWN_WORKDIR=0
if [ -z "${WORKDIR}" ]; then WORKDIR="$(mktemp -d /var/tmp/kiosk-build-check.XXXXXX)"; OWN_WORKDIR=1; fi
mkdir -p "${WORKDIR}"
ROOTFS_DIR="${WORKDIR}/rootfs"
MOUNTS=()
cleanup() {
	local i
	for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
	if findmnt -rn -o TARGET | grep -q "^${ROOTFS_DIR}/"; then
		echo "build-check: mounts left under ${ROOTFS_DIR}: not deleting it" >&2; return
	fi
	if [ "${KEEP}" = 0 ] && [ -d "${ROOTFS_DIR}" ]; then rm -rf --one-file-system "${ROOTFS_DIR}"; fi
	# A folder it made itself goes too, unless a report was written there
	if [ "${KEEP}" = 0 ] && [ "${OWN_WORKDIR}" = 1 ]; then
		find "${WORKDIR}" -mindepth 1 -maxdepth 1 ! -name report.json -exec rm -rf --one-file-system {} +
		rmdir "${WORKDIR}" 2>/dev/null || true
	fi
}
trap cleanup EXIT
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; MOUNTS+=("$2"); }
# The .deb cache is shared by concurrent runs (the test suite and a technician): one apt-get at a time on it.
apt_chroot() { flock -w 900 "${CACHE}/apt.lock" chroot "${ROOTFS_DIR}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
mount_chroot() {
	mount -t proc proc "${ROOTFS_DIR}/proc"; MOUNTS+=("${ROOTFS_DIR}/proc")
	bind /sys "${ROOTFS_DIR}/sys"
	bind /dev "${ROOTFS_DIR}/dev"
	bind /dev/pts "${ROOTFS_DIR}/dev/pts"
	mkdir -p "${ROOTFS_DIR}/run"; mount -t tmpfs tmpfs "${ROOTFS_DIR}/run"; MOUNTS+=("${ROOTFS_DIR}/run")
	bind "${APT_CACHE}/archives" "${ROOTFS_DIR}/var/cache/apt/archives"
}

if [ ! -s "${TARBALL}" ]; then
	[ "${OFFLINE}" = 1 ] && { echo "build-check: ${TARBALL} absent: run $0 --fetch-only first (network)" >&2; exit 3; }
	say "debootstrap: downloading ${SUITE} ${ARCH} (minbase) into ${TARBALL}"
	debootstrap --variant=minbase --arch="${ARCH}" --make-tarball="${TARBALL}.part" "${SUITE}" "${WORKDIR}/tarball" "${MIRROR}"
	mv "${TARBALL}.part" "${TARBALL}"
fi
say "debootstrap: unpacking ${SUITE} ${ARCH} into ${ROOTFS_DIR}"
rm -rf --one-file-system "${ROOTFS_DIR}"
debootstrap --variant=minbase --arch="${ARCH}" --unpack-tarball="${TARBALL}" "${SUITE}" "${ROOTFS_DIR}" "${MIRROR}" >"${WORKDIR}/debootstrap.log" 2>&1 \
	|| { tail -20 "${WORKDIR}/debootstrap.log" >&2; exit 3; }
mount_chroot
printf '#!/bin/sh\nexit 101\n' > "${ROOTFS_DIR}/usr/sbin/policy-rc.d"  # no daemon starts in the chroot
chmod 0755 "${ROOTFS_DIR}/usr/sbin/policy-rc.d"
echo "kiosk-build-check" > "${ROOTFS_DIR}/etc/hostname"

# apt lists: from the cache offline, else fresh
if [ "${OFFLINE}" = 1 ]; then
	[ -n "$(ls -A "${APT_CACHE}/lists" | grep -v partial || true)" ] || { echo "build-check: no cached apt lists: run $0 --fetch-only" >&2; exit 3; }
	cp -a "${APT_CACHE}/lists/." "${ROOTFS_DIR}/var/lib/apt/lists/"
else
	say "apt-get update in the chroot"
	apt_chroot update -qq
	rm -rf "${APT_CACHE}/lists"; cp -a "${ROOTFS_DIR}/var/lib/apt/lists" "${APT_CACHE}/lists"
fi

# Python wheels: the dependencies (cached), and the kiosk's own wheel built from this tree
if [ ! -d "${WHEELS}" ]; then
	[ "${OFFLINE}" = 1 ] && { echo "build-check: ${WHEELS} absent: run $0 --fetch-only (network)" >&2; exit 3; }
	say "wheelhouse: kiosk dependencies into ${WHEELS}"
	"${PY}" -m pip wheel --quiet --disable-pip-version-check -w "${WHEELS}.part" "${SRC}" 'setuptools>=77' wheel
	rm -f "${WHEELS}.part"/kiosk_accueil-*.whl
	mv "${WHEELS}.part" "${WHEELS}"
fi
if [ "${FETCH_ONLY}" = 1 ]; then
	say "downloading the stage's packages into ${APT_CACHE}/archives"
	apt_chroot install -y -qq --download-only --no-install-recommends $(packages) >/dev/null
	touch "${APT_STAMP}"
	say "cache ready: ${CACHE}"
	exit 0
fi
say "kiosk wheel from ${SRC}"
rm -rf "${WORKDIR}/dist"
clean_source "${SRC}" "${WORKDIR}/src"
"${PY}" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-index --find-links "${WHEELS}" -w "${WORKDIR}/dist" \
	"${WORKDIR}/src"
KIOSK_WHEEL="$(ls "${WORKDIR}"/dist/kiosk_accueil-*.whl)"

# -- apply the stage as pi-gen does --------------------------------------------------------------------
if [ -n "${KIOSK_EXTRA_PACKAGES:-}" ]; then
	say "extra packages: ${KIOSK_EXTRA_PACKAGES}"
	# shellcheck disable=SC2086
	apt_chroot install -y -qq --no-install-recommends ${KIOSK_EXTRA_PACKAGES} >"${WORKDIR}/apt-extra.log" 2>&1 || { tail -30 "${WORKDIR}/apt-extra.log" >&2; exit 3; }
fi
export KIOSK_SRC="${SRC}" KIOSK_WHEEL KIOSK_WHEELHOUSE="${WHEELS}" KIOSK_MODE="${KIOSK_MODE:-headless}"
export FIRST_USER_NAME="${FIRST_USER_NAME:-technicien}"
export KIOSK_SSH_KEYS="${KIOSK_SSH_KEYS:-${HERE}/build-check-technician.pub}"
apply_stages "${STAGES[@]}" || exit 3
rm -f "${ROOTFS_DIR}/usr/sbin/policy-rc.d"

# -- show what was built ------------------------------------------------------------------------------
say "result"
REPORT="${WORKDIR}/report.json"
units=(kiosk.service kiosk-desk.service kiosk-params.service kiosk-params.timer kiosk-sync.service kiosk-sync.timer kiosk-firstboot.service kiosk-state.service pcscd.socket ssh.service)
{
	echo "{"
	printf '"packages": {'; sep=""
	for p in pcscd libccid polkitd openssh-server python3-venv; do
		v=$(chroot "${ROOTFS_DIR}" dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo "")
		printf '%s"%s": "%s"' "${sep}" "$p" "$v"; sep=", "
	done
	echo "},"
	printf '"kiosk_version": "%s",\n' "$(chroot "${ROOTFS_DIR}" /opt/kiosk/bin/kiosk --version 2>&1 | tr -d '"')"
	printf '"enabled": {'; sep=""
	for u in "${units[@]}"; do
		printf '%s"%s": "%s"' "${sep}" "$u" "$(systemctl --root="${ROOTFS_DIR}" is-enabled "$u" 2>/dev/null || true)"; sep=", "
	done
	echo "},"
	ours=(); for u in "${units[@]}"; do [ -f "${ROOTFS_DIR}/etc/systemd/system/${u}" ] && ours+=("$u"); done
	printf '"installed_units": "%s",\n' "${ours[*]}"
	verify_out=$(systemd-analyze verify --root="${ROOTFS_DIR}" --man=no "${ours[@]}" 2>&1; echo "rc=$?")
	printf '"verify": %s,\n' "$("${PY}" -c 'import json,sys; print(json.dumps(sys.stdin.read()))' <<<"${verify_out}")"
	printf '"security": %s,\n' "$("${PY}" -c 'import json,sys; print(json.dumps(sys.stdin.read()))' <<<"$(systemd-analyze security --offline=true --root="${ROOTFS_DIR}" kiosk.service 2>&1 | tail -1)")"
	# Python files installed under /opt/kiosk for our packages that the source tree does not have (a stale build)
	printf '"stale_modules": %s,\n' "$("${PY}" - "${ROOTFS_DIR}" "${WORKDIR}/src" <<'PYEOF'
import json, sys
from pathlib import Path
root, src = Path(sys.argv[1]), Path(sys.argv[2])
site = next((root / "opt/kiosk/lib").glob("python3*/site-packages"))
stale = sorted(str(f.relative_to(site)) for pkg in ("kiosk", "drivers", "ui") for f in (site / pkg).rglob("*.py")
               if not (src / f.relative_to(site)).exists())
print(json.dumps(stale))
PYEOF
)"
	printf '"kiosk_user": "%s",\n' "$(chroot "${ROOTFS_DIR}" id kiosk 2>&1)"
	printf '"shadow": %s,\n' "$("${PY}" -c 'import json,sys; print(json.dumps([l.split(":")[0] for l in sys.stdin.read().splitlines() if not l.split(":")[1].startswith(("!", "*"))]))' < "${ROOTFS_DIR}/etc/shadow")"
	mkdir -p "${ROOTFS_DIR}/run/sshd"
	chroot "${ROOTFS_DIR}" ssh-keygen -q -t ed25519 -N '' -f /tmp/check_host_key
	printf '"sshd": %s,\n' "$(chroot "${ROOTFS_DIR}" /usr/sbin/sshd -T -h /tmp/check_host_key -C user=technicien,host=x,addr=127.0.0.1 2>/dev/null | grep -E '^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin|authenticationmethods) ' | "${PY}" -c 'import json,sys; print(json.dumps(dict(l.split(" ",1) for l in sys.stdin.read().splitlines())))')"
	rm -f "${ROOTFS_DIR}"/tmp/check_host_key*
	printf '"host_keys": "%s",\n' "$(cd "${ROOTFS_DIR}/etc/ssh" && ls ssh_host_* 2>/dev/null | tr '\n' ' ')"
	printf '"polkit_rule": %s,\n' "$([ -f "${ROOTFS_DIR}/etc/polkit-1/rules.d/50-kiosk-pcscd.rules" ] && echo true || echo false)"
	set +e
	doctor=$(chroot "${ROOTFS_DIR}" /opt/kiosk/bin/kiosk doctor --json 2>"${WORKDIR}/doctor.stderr")
	rc=$?
	set -e
	printf '"doctor_exit": %d,\n"doctor": %s\n' "${rc}" "${doctor:-null}"
	echo "}"
} > "${REPORT}"
"${PY}" - "${REPORT}" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'packages':<14} " + ", ".join(f"{k} {v or 'ABSENT'}" for k, v in r["packages"].items()))
print(f"{'kiosk':<14} {r['kiosk_version']} in /opt/kiosk (venv)")
print(f"{'units':<14} " + ", ".join(f"{k}={v}" for k, v in r["enabled"].items()))
print(f"{'verify':<14} {r['verify'].strip()}")
print(f"{'security':<14} {r['security'].strip()}")
print(f"{'user':<14} {r['kiosk_user']}")
print(f"{'passwords':<14} {', '.join(r['shadow']) or 'none usable (every account locked)'}")
print(f"{'ssh host keys':<14} {r['host_keys'] or 'none in the image (made at first boot)'}")
print(f"{'sshd':<14} {r['sshd']}")
print(f"{'doctor':<14} exit {r['doctor_exit']}: " + ", ".join(f"{c['name']}={c['level']}" for c in (r['doctor'] or {}).get('checks', [])))
PYEOF
echo "report: ${REPORT}"
