"""`kiosk doctor`'s printing privacy check, on written configurations and mount tables."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from kiosk.appliance import doctor
from kiosk.appliance.doctor import DoctorContext, Level
from kiosk.appliance.doctor.printing import check_print_privacy, cupsd_problems, filesystem_of
from kiosk.config import parse_config

MOUNTS = textwrap.dedent("""\
    22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw
    30 22 0:26 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,mode=755
    31 22 0:27 / /var/spool/cups rw,nosuid shared:6 - tmpfs tmpfs rw,mode=710
""")


def ctx(tmp_path: Path, printer: str) -> DoctorContext:
    config, _ = parse_config(f'environment = "test"\n[printer]\n{printer}\n')
    return DoctorContext(tmp_path / "kiosk.toml", config)


def test_discovered() -> None:
    doctor.discover()
    assert "print_privacy" in {c.name for c in doctor.checks()}


def test_filesystem_of_takes_the_deepest_mount() -> None:
    assert filesystem_of("/var/spool/cups/tmp", MOUNTS) == "tmpfs"
    assert filesystem_of("/var/spool/cupsd", MOUNTS) == "ext4"
    assert filesystem_of("/var/lib/kiosk", MOUNTS) == "ext4"


def test_cupsd_defaults_keep_documents(tmp_path: Path) -> None:
    conf, files = tmp_path / "cupsd.conf", tmp_path / "cups-files.conf"
    conf.write_text("LogLevel warn\n")
    files.write_text("")
    assert cupsd_problems(conf, files, MOUNTS) == ["PreserveJobFiles 86400 (documents conservés après impression)"]
    conf.write_text("PreserveJobFiles Yes\nPreserveJobFiles No\n")  # the last one wins
    assert cupsd_problems(conf, files, MOUNTS) == []
    files.write_text("RequestRoot /var/lib/cups-spool\n")
    assert cupsd_problems(conf, files, MOUNTS) == [
        "spool /var/lib/cups-spool sur ext4, pas en mémoire",
        "répertoire temporaire /var/lib/cups-spool/tmp sur ext4, pas en mémoire"]


def test_other_kinds(tmp_path: Path) -> None:
    assert check_print_privacy(ctx(tmp_path, 'kind = "escpos-network"\ntarget = "10.0.0.5"')).level is Level.OK
    assert (
        check_print_privacy(ctx(tmp_path, 'kind = "cups"\ntarget = "ipp://print.chu.example/printers/a"')).level
        is Level.OK
    )
    found = check_print_privacy(ctx(tmp_path, f'kind = "file"\ntarget = "{tmp_path / "t.bin"}"'))
    assert found.level is Level.WARN and "fichier" in found.message
    if os.path.exists("/dev/null"):
        assert check_print_privacy(ctx(tmp_path, 'kind = "file"\ntarget = "/dev/null"')).level is Level.OK


def test_printer_check_without_a_printer(tmp_path: Path) -> None:
    from kiosk.appliance.doctor.printing import check_printer

    assert check_printer(ctx(tmp_path, 'kind = "none"')).level is Level.OK
    found = check_printer(ctx(tmp_path, 'kind = "escpos-network"\ntarget = "127.0.0.1:9"\ntimeout_s = 3'))
    assert found.level is Level.FAIL and "injoignable" in found.message and "--print" in found.action
