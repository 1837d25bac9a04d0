#!/bin/bash
# Boot check: the build-check tree (Debian bookworm amd64 + stage-kiosk + a kernel) booted in qemu, to see
# what only a real boot shows: the first boot provisioning from the boot partition, the state partition made
# by kiosk-state-setup, and kiosk.service reaching READY under its hardening with pcscd, then its watchdog.
#
#   image/qemu-boot-check.sh [--fetch-only | --cache-ready] [--workdir DIR] [--keep]
#   image/qemu-boot-check.sh --arch arm64 [--image FILE] [--workdir DIR] [--keep]   (see boot-check/arm64.sh)
#
# Needs root, qemu-system-x86_64, mkfs.vfat and mcopy
# (dosfstools, mtools). Downloads go to the build check's cache (--fetch-only, network); the boot itself is
# offline. Writes DIR/boot-report.json and DIR/console.log.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "${HERE}/.." && pwd)"
export KIOSK_EXTRA_PACKAGES="linux-image-cloud-amd64 initramfs-tools"
WORKDIR="" KEEP=0 MODE=boot
[ "${1:-}" = --arch ] && { arch="$2"; shift 2; case "${arch}" in
	arm64) exec "${HERE}/boot-check/arm64.sh" "$@" ;;  # the real arm64 image (image/build.sh), qemu -M virt
	amd64) ;;
	*) echo "qemu-boot-check: --arch amd64 | arm64" >&2; exit 2 ;;
esac; }
while [ $# -gt 0 ]; do
	case "$1" in
		--fetch-only) MODE=fetch ;;
		--cache-ready) MODE=ready ;;
		--workdir) WORKDIR="$2"; shift ;;
		--keep) KEEP=1 ;;
		*) echo "usage: $0 [--arch amd64|arm64] [--fetch-only | --cache-ready] [--workdir DIR] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
case "${MODE}" in
	fetch) exec "${HERE}/build-check.sh" --fetch-only ;;
	ready) exec "${HERE}/build-check.sh" --cache-ready ;;
esac
for tool in qemu-system-x86_64 mkfs.vfat mcopy mkfs.ext4 sfdisk; do
	command -v "${tool}" >/dev/null || { echo "qemu-boot-check: ${tool} absent (apt-get install qemu-system-x86 dosfstools mtools fdisk)" >&2; exit 2; }
done
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
PY="${SRC}/.venv/bin/python"
[ -x "${PY}" ] || PY=python3
if [ -z "${WORKDIR}" ]; then WORKDIR="$(mktemp -d /var/tmp/kiosk-boot-check.XXXXXX)"; fi
mkdir -p "${WORKDIR}"
ROOTFS="${WORKDIR}/rootfs"
cleanup() {
	if [ "${KEEP}" = 0 ] && ! findmnt -rn -o TARGET | grep -q "^${ROOTFS}/"; then
		rm -rf --one-file-system "${ROOTFS}" "${WORKDIR}/disk.img" "${WORKDIR}/root.img" "${WORKDIR}/boot.img"
	fi
}
trap cleanup EXIT

KIOSK_BUILD_OFFLINE="${KIOSK_BUILD_OFFLINE:-1}" "${HERE}/build-check.sh" --workdir "${WORKDIR}" --keep >"${WORKDIR}/build-check.log" 2>&1 \
	|| { tail -30 "${WORKDIR}/build-check.log" >&2; exit 3; }
say "tree built (${WORKDIR}/build-check.log)"

# -- what this boot needs in the tree --------------------------------------------------------------------
cat > "${ROOTFS}/etc/fstab" <<'EOF'
LABEL=kiosk-root / ext4 defaults 0 1
LABEL=BOOTFW /boot/firmware vfat defaults,nofail 0 2
EOF
mkdir -p "${ROOTFS}/boot/firmware"
: > "${ROOTFS}/etc/machine-id"  # made at first boot, as on a fresh card
root_mib=$(( $(du -sm --exclude=./proc --exclude=./sys "${ROOTFS}" | cut -f1) + 400 ))
# kiosk-state-setup grows the root by 64 MiB, then makes the state partition in the rest of the disk
sed -i "s/^KIOSK_ROOT_SIZE=.*/KIOSK_ROOT_SIZE=$((root_mib + 64))M/" "${ROOTFS}/usr/lib/kiosk/image.env"
install -m 0644 "${HERE}/boot-check/kiosk-boot-report.service" "${ROOTFS}/etc/systemd/system/"
install -m 0755 "${HERE}/boot-check/kiosk-boot-report" "${ROOTFS}/usr/local/sbin/"
ln -sf /etc/systemd/system/kiosk-boot-report.service "${ROOTFS}/etc/systemd/system/multi-user.target.wants/kiosk-boot-report.service"

# -- the boot partition: a provisioning file made with a throw-away test CA ------------------------------
boot_src="${WORKDIR}/bootfs"
rm -rf "${boot_src}" && mkdir -p "${boot_src}"
(cd "${SRC}" && PYTHONPATH="${SRC}" "${PY}" "${HERE}/boot-check/provision-files.py" "${boot_src}")

# -- disk: p1 FAT (boot), p2 ext4 (root), free space for the state partition ----------------------------
say "disk image"
rm -f "${WORKDIR}/boot.img" "${WORKDIR}/root.img" "${WORKDIR}/disk.img"
mkfs.vfat -n BOOTFW -C "${WORKDIR}/boot.img" $((64 * 1024)) >/dev/null
mcopy -i "${WORKDIR}/boot.img" "${boot_src}"/* ::/
mkfs.ext4 -q -L kiosk-root -d "${ROOTFS}" "${WORKDIR}/root.img" "${root_mib}M"
disk_mib=$((1 + 64 + root_mib + 512))
truncate -s "${disk_mib}M" "${WORKDIR}/disk.img"
printf 'label: dos\nstart=2048, size=%d, type=c\nstart=%d, size=%d, type=83\n' \
	$((64 * 2048)) $((2048 + 64 * 2048)) $((root_mib * 2048)) | sfdisk -q "${WORKDIR}/disk.img"
dd if="${WORKDIR}/boot.img" of="${WORKDIR}/disk.img" bs=1M seek=1 conv=notrunc status=none
dd if="${WORKDIR}/root.img" of="${WORKDIR}/disk.img" bs=1M seek=65 conv=notrunc status=none

# -- boot --------------------------------------------------------------------------------------------------
# TCG by default: under nested virtualisation KVM may stop with "KVM internal error ... emulation failure"
# (seen on the development VM). KIOSK_QEMU_ACCEL=kvm uses KVM where it works (a few seconds instead of ~2 min).
accel=(-machine accel=tcg -cpu max)
[ "${KIOSK_QEMU_ACCEL:-tcg}" = kvm ] && [ -w /dev/kvm ] && accel=(-enable-kvm -cpu host)
say "booting (${accel[*]}); console: ${WORKDIR}/console.log"
start=$(date +%s)
timeout "${KIOSK_BOOT_TIMEOUT:-600}" qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 -nographic -no-reboot \
	-kernel "$(ls "${ROOTFS}"/boot/vmlinuz-* | tail -1)" -initrd "$(ls "${ROOTFS}"/boot/initrd.img-* | tail -1)" \
	-append "root=/dev/vda2 rw console=ttyS0 systemd.show_status=1 net.ifnames=0" \
	-drive "file=${WORKDIR}/disk.img,if=virtio,format=raw" -nic none \
	-serial "file:${WORKDIR}/console.log" -monitor none </dev/null >"${WORKDIR}/qemu.log" 2>&1 || true
say "powered off after $(( $(date +%s) - start )) s"
"${PY}" - "${WORKDIR}" <<'PYEOF'
import json, re, sys
from pathlib import Path
work = Path(sys.argv[1])
console = (work / "console.log").read_text(errors="replace")
found = re.search(r"KIOSK-REPORT-BEGIN\s*(\{.*?\})\s*KIOSK-REPORT-END", console, re.S)
report = json.loads(found.group(1).replace("\r", "")) if found else {"error": "no report on the console"}
journal = str(report.get("journal", ""))
report["ready"] = '"event": "ready"' in journal and "Started kiosk.service" in journal
(work / "boot-report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
for key, value in report.items():
    if key == "doctor" and isinstance(value, dict):
        print(f"{'doctor':<18} " + ", ".join(f"{c['name']}={c['level']}" for c in value["checks"]))
    elif key != "journal":
        print(f"{key:<18} {value}")
print("journal (kiosk.service):\n  " + "\n  ".join(str(report.get("journal", "")).splitlines()))
PYEOF
echo "report: ${WORKDIR}/boot-report.json"
