"""Writes the image's SBOM as CycloneDX 1.5 JSON on stdout: every Debian package with its version, and every
Python package of the kiosk's venv with its version and the SHA-256 of the wheel it was installed from.

    sbom.py --build-id ID --dpkg dpkg.tsv --pip pip.json --wheels DIR --kiosk-wheel FILE

dpkg.tsv: `dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n'` in the image; pip.json: `pip list
--format=json` from /opt/kiosk. Standard library only: it runs on the build host with whatever Python is there.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import sys
import uuid
from pathlib import Path


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheel_hashes(wheels: list[Path]) -> dict[tuple[str, str], str]:
    hashes = {}
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        hashes[(_canonical(name), version)] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return hashes


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-id", required=True)
    ap.add_argument("--dpkg", type=Path, required=True)
    ap.add_argument("--pip", type=Path, required=True)
    ap.add_argument("--wheels", type=Path, required=True)
    ap.add_argument("--kiosk-wheel", type=Path, required=True)
    args = ap.parse_args()
    hashes = _wheel_hashes([*args.wheels.glob("*.whl"), args.kiosk_wheel])
    components = []
    for line in args.dpkg.read_text().splitlines():
        name, version, arch = line.split("\t")
        components.append({"type": "library" if name.startswith("lib") else "application", "name": name,
                           "version": version, "purl": f"pkg:deb/debian/{name}@{version}?arch={arch}&distro=bookworm"})
    for pkg in json.loads(args.pip.read_text()):
        if pkg["name"] in ("pip", "setuptools"):  # the venv's own tooling, from python3-venv's wheels
            continue
        entry = {"type": "library", "name": pkg["name"], "version": pkg["version"],
                 "purl": f"pkg:pypi/{_canonical(pkg['name'])}@{pkg['version']}"}
        digest = hashes.get((_canonical(pkg["name"]), pkg["version"]))
        if digest:
            entry["hashes"] = [{"alg": "SHA-256", "content": digest}]
        components.append(entry)
    json.dump({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "metadata": {"timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                     "component": {"type": "operating-system", "name": "borne-accueil",
                                   "version": args.build_id}},
        "components": components,
    }, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
