#!/bin/bash
# Boot check of the real arm64 image (image/build.sh) under qemu-system-aarch64 -M virt (TCG), with the image's
# own kernel and initrd. Run as `image/qemu-boot-check.sh --arch arm64 [--image FILE] [--workdir DIR] [--keep]`.
#
# It works on a copy of the image, grown by 1 GiB so that the first boot can make the state partition, and adds
# to that copy only (a test overlay, never the image): a provisioning file with throw-away test certificates on
# the boot partition; on the root, the boot report unit, vsmartcard's vpcd driver for pcscd (from Debian's arm64
# package), and a WatchdogSec raised for emulation (TCG runs an arm64 Python tens of times slower than a Pi).
# When the kiosk is READY the host inserts a virtual Vitale card through a forwarded port (qemu user network)
# and the report waits for the card's event in the kiosk's journal.
# Without --image it takes /var/tmp/kiosk-image/kiosk-arm64.img, building it first if absent.
# Writes DIR/boot-report.json and DIR/console.log; prints the image size, the build time, boot to READY.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$(cd "${HERE}/.." && pwd)"
CACHE="${KIOSK_BUILD_CACHE:-/var/cache/kiosk-build}"
MIRROR="${KIOSK_MIRROR:-http://deb.debian.org/debian}"
IMAGE="" WORKDIR="" KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
		--image) IMAGE="$2"; shift ;;
		--workdir) WORKDIR="$2"; shift ;;
		--keep) KEEP=1 ;;
		*) echo "usage: qemu-boot-check.sh --arch arm64 [--image FILE] [--workdir DIR] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "qemu-boot-check: root needed (loop devices, mounts)" >&2; exit 2; }
for tool in qemu-system-aarch64 losetup mcopy; do
	command -v "${tool}" >/dev/null || { echo "qemu-boot-check: ${tool} absent (apt-get install qemu-system-arm mtools mount)" >&2; exit 2; }
done
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
PY="${SRC}/.venv/bin/python"
[ -x "${PY}" ] || PY=python3
if [ -z "${IMAGE}" ]; then
	IMAGE=/var/tmp/kiosk-image/kiosk-arm64.img
	if [ ! -e "${IMAGE}" ]; then
		say "no image yet: building it (image/build.sh)"
		KIOSK_SSH_KEYS="${KIOSK_SSH_KEYS:-${HERE}/build-check-technician.pub}" "${HERE}/build.sh" --out "$(dirname "${IMAGE}")"
	fi
fi
IMAGE="$(readlink -f "${IMAGE}")"
[ -f "${IMAGE}" ] || { echo "qemu-boot-check: ${IMAGE} absent" >&2; exit 2; }
if [ -z "${WORKDIR}" ]; then WORKDIR="$(mktemp -d /var/tmp/kiosk-boot-arm64.XXXXXX)"; fi
mkdir -p "${WORKDIR}"
DISK="${WORKDIR}/disk.img"
LOOP="" MNT="${WORKDIR}/mnt"
cleanup() {
	umount "${MNT}/root" 2>/dev/null || true
	for dev in ${LOOP}; do losetup -d "${dev}" 2>/dev/null || true; done
	[ -n "${CARD_PID:-}" ] && kill "${CARD_PID}" 2>/dev/null || true
	[ "${KEEP}" = 0 ] && rm -f "${DISK}"
	return 0
}
trap cleanup EXIT

# -- vsmartcard's vpcd for arm64: Debian's package, fetched once into the cache ---------------------------
VPCD_DEB="$(ls "${CACHE}"/vpcd-arm64/vsmartcard-vpcd_*_arm64.deb 2>/dev/null | tail -1 || true)"
if [ -z "${VPCD_DEB}" ]; then
	say "fetching Debian's vsmartcard-vpcd for arm64 (test overlay only)"
	apt_dir="${WORKDIR}/apt"
	mkdir -p "${apt_dir}/state/lists/partial" "${apt_dir}/cache/archives/partial" "${CACHE}/vpcd-arm64"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${MIRROR} bookworm main" > "${apt_dir}/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=${apt_dir}/sources.list" -o Dir::Etc::SourceParts=/dev/null
	          -o "Dir::State=${apt_dir}/state" -o "Dir::Cache=${apt_dir}/cache" -o Dir::State::status=/dev/null
	          -o APT::Architecture=arm64 -o APT::Architectures=arm64)
	apt-get "${apt_opts[@]}" -qq update
	(cd "${CACHE}/vpcd-arm64" && apt-get "${apt_opts[@]}" -qq download vsmartcard-vpcd:arm64)
	VPCD_DEB="$(ls "${CACHE}"/vpcd-arm64/vsmartcard-vpcd_*_arm64.deb | tail -1)"
fi

# -- the test copy of the image and its overlay -------------------------------------------------------------
say "test copy of $(basename "${IMAGE}")"
cp --sparse=always "${IMAGE}" "${DISK}"
truncate -s +1G "${DISK}"  # room after the root: the first boot makes KIOSK-STATE there
# One loop device per partition, by offset: partition device nodes (loopNpM) need udev, which a build host or a
# container may not run.
# container may not run. The FAT boot partition is written with mtools (no vfat module needed on the host).
part() { sfdisk -d "${DISK}" | awk -v n="$1" -F'[=,]' '$1 ~ ("img" n " *:") {print $2, $4}'; }
read -r root_start root_size < <(part 2)
read -r boot_start _ < <(part 1)
BOOT_FAT="${DISK}@@$((boot_start * 512))"
LOOP_ROOT="$(losetup -f --show -o $((root_start * 512)) --sizelimit $((root_size * 512)) "${DISK}")"
LOOP="${LOOP_ROOT}"
mkdir -p "${MNT}/root"
mount "${LOOP_ROOT}" "${MNT}/root"
R="${MNT}/root"
cp "$(ls "${R}"/boot/vmlinuz-* | sort -V | tail -1)" "${WORKDIR}/vmlinuz"
cp "$(ls "${R}"/boot/initrd.img-* | sort -V | tail -1)" "${WORKDIR}/initrd.img"
install -m 0644 "${HERE}/boot-check/kiosk-boot-report.service" "${R}/etc/systemd/system/"
install -m 0755 "${HERE}/boot-check/kiosk-boot-report" "${R}/usr/local/sbin/"
ln -sf /etc/systemd/system/kiosk-boot-report.service "${R}/etc/systemd/system/multi-user.target.wants/"
mkdir -p "${R}/etc/kiosk-boot-check" && touch "${R}/etc/kiosk-boot-check/card"
dpkg-deb -x "${VPCD_DEB}" "${R}"
mkdir -p "${R}/etc/systemd/system/kiosk.service.d"
cat > "${R}/etc/systemd/system/kiosk.service.d/90-boot-check.conf" <<'EOF'
# Boot check only: emulated arm64 (TCG) is far slower than a Raspberry Pi; the image keeps its own WatchdogSec.
[Service]
WatchdogSec=180s
TimeoutStartSec=600s
EOF
root_mib=$(( $(blockdev --getsize64 "${LOOP_ROOT}") / 1048576 ))
sed -i "s/^KIOSK_ROOT_SIZE=.*/KIOSK_ROOT_SIZE=$((root_mib + 64))M/" "${R}/usr/lib/kiosk/image.env"
boot_src="${WORKDIR}/bootfs"
rm -rf "${boot_src}" && mkdir -p "${boot_src}"
(cd "${SRC}" && PYTHONPATH="${SRC}" "${PY}" "${HERE}/boot-check/provision-files.py" "${boot_src}")
mcopy -o -i "${BOOT_FAT}" "${boot_src}"/* ::/
cmdline="$(mtype -i "${BOOT_FAT}" ::cmdline.txt)"
umount "${MNT}/root"
for dev in ${LOOP}; do losetup -d "${dev}"; done; LOOP=""

# -- boot -----------------------------------------------------------------------------------------------------
# The Raspberry Pi's own cmdline.txt, with the virt machine's console (ttyAMA0) instead of the Pi's.
append="$(echo "${cmdline}" | sed -E 's/console=[^ ]+//g') console=ttyAMA0 net.ifnames=0 systemd.show_status=1"
port=$("${PY}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
console="${WORKDIR}/console.log"
: > "${console}"
say "booting qemu-system-aarch64 -M virt (TCG); console: ${console}"
start=$(date +%s)
timeout "${KIOSK_BOOT_TIMEOUT:-2400}" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 2048 -nographic -no-reboot \
	-kernel "${WORKDIR}/vmlinuz" -initrd "${WORKDIR}/initrd.img" -append "${append}" \
	-drive "file=${DISK},if=virtio,format=raw" \
	-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:35963" -device virtio-net-pci,netdev=net0,romfile= \
	-serial "file:${console}" -monitor none </dev/null >"${WORKDIR}/qemu.log" 2>&1 &
QEMU_PID=$!
# The host side of the card: once the kiosk is READY, a virtual Vitale card goes into the guest's vpcd reader.
( while kill -0 "${QEMU_PID}" 2>/dev/null; do
	grep -q "KIOSK-READY" "${console}" && break; sleep 2
  done
  ready=$(( $(date +%s) - start ))
  echo "${ready}" > "${WORKDIR}/ready-wall-s"
  # `kiosk sim card` keeps serving after the end of its input (detached use): it is told to quit when qemu stops
  cd "${SRC}" && { while kill -0 "${QEMU_PID}" 2>/dev/null; do sleep 5; done; echo quit; } \
	| "${SRC}/.venv/bin/kiosk" sim card vitale --profile seul --port "${port}" >"${WORKDIR}/card.log" 2>&1 ) &
CARD_PID=$!
wait "${QEMU_PID}" || true
say "powered off after $(( $(date +%s) - start )) s"
wait "${CARD_PID}" 2>/dev/null || true
"${PY}" - "${WORKDIR}" "${IMAGE}" <<'PYEOF'
import json, re, sys
from pathlib import Path
work, image = Path(sys.argv[1]), Path(sys.argv[2])
console = (work / "console.log").read_text(errors="replace")
found = re.search(r"KIOSK-REPORT-BEGIN\s*(\{.*?\})\s*KIOSK-REPORT-END", console, re.S)
# The kernel prints on the same serial console: drop its lines ("[  135.04] ...") from the report
text = re.sub(r"(?m)^\[\s*\d+\.\d+\] .*\n?", "", found.group(1).replace("\r", "")) if found else ""
report = json.loads(text) if found else {"error": "no report on the console"}
journal = str(report.get("journal", ""))
report["ready"] = '"event": "ready"' in journal
# Without a network the teleservices, param-lps and the clock cannot be checked: every other check must be ok.
EXPECTED_OFFLINE = {"endpoints", "teleservices", "params", "clock"}
doctor = report.get("doctor") if isinstance(report.get("doctor"), dict) else {"checks": []}
report["doctor_unexpected"] = [
    f"{c['name']}: {c['message']}" for c in doctor["checks"] if c["level"] != "ok" and c["name"] not in EXPECTED_OFFLINE
]
report["card_read"] = "vitale_read" in str(report.get("card", ""))
wall = work / "ready-wall-s"
report["power_on_to_ready_wall_s"] = int(wall.read_text()) if wall.exists() else None
report["image"] = str(image)
report["image_mib"] = image.stat().st_size // 1048576
summary = image.parent / "summary.txt"
if summary.exists():
    report["build_summary"] = summary.read_text()
(work / "boot-report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
for key, value in report.items():
    if key == "doctor" and isinstance(value, dict):
        print(f"{'doctor':<26} " + ", ".join(f"{c['name']}={c['level']}" for c in value["checks"]))
    elif key not in ("journal", "build_summary"):
        print(f"{key:<26} {value}")
print("build:\n  " + "\n  ".join(str(report.get("build_summary", "")).splitlines()))
print("journal (kiosk.service):\n  " + "\n  ".join(journal.splitlines()))
failures = [
    what
    for what, bad in (
        ("the kiosk did not reach READY", not report.get("ready")),
        ("no Vitale card read", not report["card_read"]),
        ("kiosk doctor: " + "; ".join(report["doctor_unexpected"]), bool(report["doctor_unexpected"])),
        ("first boot did not provision", "ConditionResult=yes" not in str(report.get("firstboot", ""))),
    )
    if bad
]
for failure in failures:
    print(f"qemu-boot-check: {failure} (console: {work / 'console.log'})", file=sys.stderr)
sys.exit(1 if failures else 0)
PYEOF
echo "report: ${WORKDIR}/boot-report.json"
