"""`kiosk link`: the real CLI in a subprocess."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lxml import etree

NIR = "255069999999934"  # the Web PS sheet's own example, key correct


def test_cli_link_prints_the_page_and_writes_0600_files(run_kiosk, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'state_dir = "{tmp_path}/state"\n')
    done = run_kiosk("link", "DossierPatient", "--ins", NIR, "--psc", config=config)
    assert done.returncode == 0, done.stderr
    assert "wps-psc.dmp.monespacesante.fr/AccesDirect/DossierPatient" in done.stdout and NIR in done.stdout
    out = tmp_path / "page.xhtml"
    done = run_kiosk("link", "DossierPatient", "--ins", NIR, "--out", str(out), "--json", config=config)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert NIR not in done.stdout and "2550...34" in done.stdout
    etree.fromstring(out.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))  # well-formed
    bad = run_kiosk(
        "link", "DossierPatient", "--ins", "255069999999935", "--out", str(tmp_path / "no.xhtml"), config=config
    )
    assert bad.returncode == 2 and "clé" in bad.stderr and "255069999999935" not in bad.stderr + bad.stdout
    assert not (tmp_path / "no.xhtml").exists()
    text = run_kiosk("link", "TableauDeBord", "--text", config=config)
    assert text.returncode == 0 and "AccesDirect/TableauDeBord" in text.stdout
