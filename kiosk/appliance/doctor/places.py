"""The list of communes the desk uses for birthplaces typed by name or postcode, and its edition."""

from __future__ import annotations

from kiosk.appliance.doctor.registry import DoctorContext, Finding, check, ok, warn


@check("communes", "Liste des communes (lieux de naissance)", order=59, needs_config=False)
def check_communes(ctx: DoctorContext) -> Finding:
    from kiosk.domain.places import PlaceError, data_dir, edition

    try:
        found = edition()
    except PlaceError:
        return warn(f"liste absente ({data_dir()}) : les lieux de naissance ne se saisissent que par code INSEE",
                    "réinstaller la borne (`./run` installe @etalab/decoupage-administratif par npm)")
    return ok(f"{found.package} {found.version}, édition du {found.date} ({found.communes} communes)",
              version=found.version, date=found.date, communes=found.communes)
