"""The printer front without a printer: targets checked at configuration time, reasons and French texts,
what a job holds and shows of itself."""

from __future__ import annotations

import pytest

from kiosk.appliance.printing import PrinterError, PrintFailure, PrintJob, link_job, print_job
from kiosk.appliance.printing.job import fold
from kiosk.config.printer_targets import CupsTarget, parse_cups_target, parse_hostport, parse_usb_id, target_problem
from kiosk.config.schema import PrinterConfig


def test_cups_targets() -> None:
    assert parse_cups_target("accueil") == CupsTarget("accueil")
    assert parse_cups_target("ipp://print.chu.example:8631/printers/accueil-2") == CupsTarget(
        "accueil-2", "print.chu.example", 8631
    )
    assert parse_cups_target("ipps://print.chu.example/printers/q") == CupsTarget(
        "q", "print.chu.example", 631, tls=True
    )
    for bad in ("", "a/b", "http://h/printers/q", "ipp://h/classes/q", "ipp:///printers/q", "ipp://h:99999/printers/q"):
        with pytest.raises(ValueError):
            parse_cups_target(bad)


def test_escpos_targets() -> None:
    assert parse_hostport("10.1.2.3") == ("10.1.2.3", 9100)
    assert parse_hostport("imprimante:9101") == ("imprimante", 9101)
    assert parse_hostport("[::1]:9100") == ("::1", 9100)
    assert parse_usb_id("04b8:0e15") == (0x04B8, 0x0E15)
    for bad in ("", "h:", "h:0", "h:abc"):
        with pytest.raises(ValueError):
            parse_hostport(bad)
    for bad in ("04b8", "4b8:e15", "zzzz:0001"):
        with pytest.raises(ValueError):
            parse_usb_id(bad)


def test_config_check_names_the_key_in_french() -> None:
    assert (
        target_problem("escpos-usb", "epson")
        == "identifiant USB VID:PID attendu en hexadécimal (ex. 04b8:0e15, voir lsusb)"
    )
    assert target_problem("cups", "ipp://h/q") is not None
    assert target_problem("escpos-serial", "/dev/ttyUSB0") is None
    problems = list(PrinterConfig(kind="cups", target="", timeout_s=0).check(None))
    assert [(key, text[:20]) for key, text in problems] == [(("target",), "cible obligatoire po"),
                                                            (("timeout_s",), "nombre de secondes e")]


def test_errors_carry_a_reason_and_a_french_text() -> None:
    e = PrinterError(PrintFailure.STOPPED, "file « accueil »")
    assert (
        e.reason is PrintFailure.STOPPED
        and str(e) == "imprimante arrêtée sur le serveur d'impression : file « accueil »"
    )
    assert all(str(PrinterError(r)) for r in PrintFailure)


def test_nothing_configured_and_cups_down(caplog) -> None:
    with pytest.raises(PrinterError) as e:
        print_job(PrinterConfig(), link_job("x", "https://a.example/"))
    assert e.value.reason is PrintFailure.NOT_CONFIGURED
    with pytest.raises(PrinterError) as e:  # nothing listens on the discard port
        print_job(PrinterConfig(kind="cups", target="ipp://127.0.0.1:9/printers/q", timeout_s=5), link_job("x", "https://a.example/"))
    assert e.value.reason is PrintFailure.UNREACHABLE and "127.0.0.1:9" in str(e.value)
    assert any(r.getMessage().startswith("impression impossible (cups, unreachable)") for r in caplog.records)


def test_a_job_shows_no_patient_data() -> None:
    job = PrintJob(("Ticket d'admission", "DUPONT JEAN", "Né(e) le 01/02/1990"))
    assert "DUPONT" not in repr(job) and "1990" not in repr(job)


def test_fold_keeps_french_and_plains_the_rest() -> None:
    assert fold("Œuvre Lévêque Noël çà", "cp1252") == "Œuvre Lévêque Noël çà"
    assert fold("Dağlı Łukasz 李", "cp1252") == "Dagl? ?ukasz ?"  # ı and Ł have no decomposition
