# shellcheck shell=bash
# Replays pi-gen stages on a root filesystem, the way pi-gen applies them to Raspberry Pi OS: for each
# substage NN-*, in order, `NN-packages-nr` / `NN-packages` (apt-get in the chroot), `NN-run.sh` on the host
# (with ROOTFS_DIR), `NN-run-chroot.sh` inside. Sourced by build-check.sh (amd64 tree) and build.sh (the arm64
# image), so both recipes run the very files pi-gen runs.
#
# Needs: ROOTFS_DIR, WORKDIR, HERE (the image/ folder) and an `apt_chroot` function (apt-get in the chroot).

# The packages every listed stage asks for (one line, for apt-get or a cache key).
stage_packages() {
	local st
	for st in "$@"; do grep -hv '^\s*#' "${HERE}/${st}"/*/[0-9][0-9]-packages*; done | tr -s ' \n' ' '
}

on_chroot() { chroot "${ROOTFS_DIR}" /bin/bash -e "$@"; }

# A clean copy of the source tree to build the kiosk's wheel from (clean_source SRC DEST): pip builds in the tree,
# and setuptools reuses its build/lib, whose modules from an older layout then ship beside the new ones (seen: the
# arm64 desk image had kiosk/doctor.py and kiosk/cards.py beside the regrouped packages). The copy holds what git
# tracks or would track (uncommitted changes included); outside a git checkout, everything but build/ and .venv/.
clean_source() {
	local src="$1" dest="$2"
	rm -rf "${dest}" && mkdir -p "${dest}"
	if git -C "${src}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "${src}" && git ls-files -z --cached --others --exclude-standard \
			| tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "${dest}"
	else
		(cd "${src}" && tar --exclude=./build --exclude=./.venv --exclude='*.egg-info' -cf - .) | tar -xf - -C "${dest}"
	fi
}

apply_stages() {
	local stage sub i kind flags
	export ROOTFS_DIR
	export -f on_chroot
	for stage in "$@"; do
		STAGE_DIR="${HERE}/${stage}"
		export STAGE_DIR
		for sub in "${STAGE_DIR}"/[0-9][0-9]-*/; do
			printf '\033[1m==> %s\033[0m\n' "${stage}/$(basename "${sub}")" >&2
			pushd "${sub}" >/dev/null
			for i in $(seq -w 0 99); do
				for kind in packages-nr packages; do
					if [ -f "${i}-${kind}" ]; then
						flags=(); [ "${kind}" = packages-nr ] && flags=(--no-install-recommends)
						# shellcheck disable=SC2046
						apt_chroot install -y -qq "${flags[@]}" \
							$(grep -v '^\s*#' "${i}-${kind}") >"${WORKDIR}/apt-${i}.log" 2>&1 \
							|| { tail -30 "${WORKDIR}/apt-${i}.log" >&2; return 3; }
					fi
				done
				if [ -x "${i}-run.sh" ]; then "./${i}-run.sh" || return 3; fi
				if [ -f "${i}-run-chroot.sh" ]; then on_chroot < "${i}-run-chroot.sh" || return 3; fi
			done
			popd >/dev/null
		done
	done
}
