"""Which image the kiosk runs: the build id written by image/build.sh (`/usr/lib/kiosk/build-info.json`)."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, ok, warn

BUILD_INFO = Path("/usr/lib/kiosk/build-info.json")


@check("image", "Image du poste", order=5, needs_config=False)
def check_image(ctx: DoctorContext) -> Finding:
    if not BUILD_INFO.exists():
        return ok("installation hors image (pas de build-info.json)")
    try:
        info = json.loads(BUILD_INFO.read_text())
        build_id = str(info["build_id"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        return warn(f"{BUILD_INFO} illisible ({type(e).__name__})", "réinstaller l'image du poste")
    return ok(f"image {build_id} ({info.get('arch', '?')}, {info.get('suite', '?')}, {info.get('mode', '?')})",
              build_id=build_id, arch=info.get("arch"), built=info.get("built"))
