"""Hostile configuration and arguments (issue 14, point 8): each exits 2 with a French message, no traceback,
no hang (the CLI runs with a 120 s subprocess timeout); numbers are range-checked by the schema."""

from __future__ import annotations

import pytest

from kiosk.config import parse_config

DEEP = 100_000


CASES = [
    ("deep-array", "a = " + "[" * DEEP + "]" * DEEP + "\n", "imbriqués"),
    ("deep-table", "a = " + "{b=" * DEEP + "1" + "}" * DEEP + "\n", "imbriqués"),
    ("dotted-header", "[" + ".".join(["a"] * DEEP) + "]\n", "parties"),
    ("dotted-key", ".".join(["a"] * DEEP) + " = 1\n", "parties"),
    ("superscript-reader", '[[readers]]\nname = "x"\nbackend = "sim"\n[readers.²]\nrole = "x"\n', "TOML illisible"),
    ("5000-digit-reader", "[readers." + "9" * 5000 + ']\nrole = "x"\n', "readers"),
    ("retention", "[ui]\naudit_retention_days = 1000000000\n", "hors limites"),
    ("insi-inf", "[insi]\ntimeout_s = inf\n", "nombre fini"),
    ("insi-nan", "[insi]\ntimeout_s = nan\n", "nombre fini"),
    ("params-timeout", "[params]\ntimeout_s = 1e300\n", "hors limites"),
    ("shadow", 'state_dir = "/etc/shadow"\n', "pas un répertoire"),
    ("proc", 'state_dir = "/proc/1"\n', "noyau"),
    ("backslash-host", '[params]\nurl = "https://localhost\\\\.dmp.fr/web/dmp/documents/param-lps"\n', "barre oblique"),
    ("userinfo-base", '[webps]\ncpx_base = "https://localhost@wps-cps.dmp.monespacesante.fr"\n', "identifiants"),
    ("trailing-dot-insi", '[insi]\nendpoint = "https://services-ps-tlsm.ameli.fr./lps"\n', "point final"),
    (
        "idn-fleet",
        '[sync]\nenabled = true\ndevice_id = "a"\nsite_id = "b"\nurl = "https://xn--flotte-bva.fr/"\n',
        "xn--",
    ),
]


# Short test ids: pytest puts the id in PYTEST_CURRENT_TEST, and a 100,000-character one overflows exec()'s env.
@pytest.mark.parametrize("name, text, fragment", CASES, ids=[c[0] for c in CASES])
def test_config_check_refuses_with_exit_2(run_kiosk, tmp_path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    r = run_kiosk("config", "check", str(path), config=path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and fragment in r.stdout + r.stderr


def test_config_from_dev_zero_is_refused(run_kiosk) -> None:
    from pathlib import Path

    for args in (("config", "check", "/dev/zero"), ("link", "TableauDeBord")):
        r = run_kiosk(*args, config=Path("/dev/zero"))
        assert r.returncode == 2 and "Traceback" not in r.stderr and "Kio" in r.stdout + r.stderr


@pytest.mark.parametrize("args, fragment", [
    (("read", "--timeout", "1e300"), "--timeout"),
    (("read", "--timeout", "nan"), "--timeout"),
    (("insi", "vitale", "--timeout", "inf"), "--timeout"),
    (("link", "TableauDeBord", "--open", "--ttl", "1e300"), "--ttl"),
    (("sim", "card", "--slot", "9" * 5000), "--slot"),
], ids=["timeout-1e300", "timeout-nan", "insi-inf", "ttl", "slot-5000-digits"])
def test_hostile_numbers_on_the_command_line(run_kiosk, args: tuple[str, ...], fragment: str) -> None:
    r = run_kiosk(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr and fragment in r.stderr and "attendu" in r.stderr


def test_link_out_to_a_directory_or_proc(run_kiosk, tmp_path) -> None:
    for target, fragment in ((str(tmp_path), "répertoire"), ("/proc/1/x", "écriture impossible")):
        r = run_kiosk("link", "TableauDeBord", "--out", target)
        assert r.returncode == 2 and "Traceback" not in r.stderr and fragment in r.stderr


def test_bounds_are_part_of_the_schema() -> None:
    _, problems = parse_config("[api]\nmax_clients = 0\n[ui]\nlock_after_s = -1\n")
    assert {p.key for p in problems} == {"api.max_clients", "ui.lock_after_s"}
    assert all("hors limites" in p.message for p in problems)
