"""Receipt printers for real: the kiosk's ESC/POS bytes over a TCP port (escpos-network) and a pty
(escpos-serial), read by an ESC/POS reader written from Epson's reference (tests/support/escpos_reader.py), the
QR code decoded by zbar. A printer out of paper, off line, mute, or that stops reading gives a bounded error."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.printing import PrinterError, PrintFailure, PrintJob, link_job, print_job
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.config.schema import PrinterConfig
from tests.support.escpos_printers import OFFLINE, PAPER_END, NetworkPrinter, SerialPrinter
from tests.support.escpos_reader import Receipt, read_receipt
from tests.support.readback import qr_codes

URL = "https://wps-cps.dmp.monespacesante.fr/AccesDirect/DossierPatient"
LINK = link_job("Accès au DMP - Web PS\nHôpital Saint-Éloi — Cœur\nPage : Récapitulatif du DMP du patient\n", URL)


def has_zbar() -> bool:
    return subprocess.run(["sh", "-c", "command -v zbarimg"], capture_output=True, check=False).returncode == 0


@pytest.fixture(params=["network", "serial"])
def printer(request):
    stand = NetworkPrinter() if request.param == "network" else SerialPrinter()
    yield stand
    stand.stop()


def config(stand, **extra) -> PrinterConfig:
    kind = "escpos-network" if isinstance(stand, NetworkPrinter) else "escpos-serial"
    return PrinterConfig(kind=kind, target=stand.target, **{"timeout_s": 20, **extra})


def qr_png_decodes(receipt: Receipt, tmp_path: Path) -> list[str]:
    """A native QR's stored data, drawn again by segno (the printer's QR engine stand-in) with the model, module
    size and error level the stream asked for; a raster QR as sent. Either decoded by zbar."""
    import segno

    found = []
    for i, qr in enumerate(receipt.qr_codes):
        assert qr.model == 2 and 1 <= qr.module <= 16 and qr.ecc in "LMQH"
        path = tmp_path / f"native{i}.png"
        segno.make(qr.data.decode(), error=qr.ecc.lower(), micro=False).save(str(path), scale=qr.module, border=4)
        found += qr_codes(path)
    for i, raster in enumerate(receipt.rasters):
        path = tmp_path / f"raster{i}.png"
        path.write_bytes(raster.png())
        found += qr_codes(path)
    return found


@pytest.mark.parametrize("qr", ["native", "image"])
def test_link_sheet_bytes_read_back(printer, qr, tmp_path) -> None:
    print_job(config(printer, qr=qr), LINK)
    receipt = printer.receipt()
    kinds = receipt.kinds()
    assert kinds[:2] == ["init", "codepage"] and receipt.events[1] == ("codepage", 16)  # WPC1252
    assert receipt.lines[:3] == [
        "Accès au DMP - Web PS",
        "Hôpital Saint-Éloi — Cœur",
        "Page : Récapitulatif du DMP du patient",
    ]
    assert kinds[-1] == "cut" and kinds.index("cut") > max(
        kinds.index("qr") if qr == "native" else kinds.index("raster"), 0
    )
    assert receipt.status_requests == [4, 1]  # paper before, on line after
    if has_zbar():
        assert qr_png_decodes(receipt, tmp_path) == [URL]
    if qr == "native":
        assert [q.data.decode() for q in receipt.qr_codes] == [URL] and not receipt.rasters
    else:
        assert len(receipt.rasters) == 1 and not receipt.qr_codes


def test_the_desk_prints_on_a_network_receipt_printer(tmp_path) -> None:
    """Through the desk: the ticket (accented names) and the link it resolved, on the network kind."""
    from kiosk.teleservices.webps import render_print

    stand = NetworkPrinter()
    try:
        with DemoWorld() as world:
            c = world.runtime.controller
            world.backend.insert(STAFF_READER, cards.demo_cpe())
            c.wait_idle(60)
            c.submit_pin(DEMO_PIN)
            c.wait_idle(60)
            c.ports.config = dataclasses.replace(c.ports.config, printer=config(stand))
            world.backend.insert(VITALE_READER, cards.demo_vitale_accents())
            c.wait_idle(60)
            rows = c.view().rows
            accented = next(i for i, r in enumerate(rows) if r.beneficiary.nom_usuel == "D'ALEMBERT-LÉVÊQUE")
            linked = next(i for i, r in enumerate(rows) if r.insi is not None and r.insi.found and r.insi.key_ok)
            events: list = []
            c.add_listener(lambda view, event: events.append(event))
            c.print_ticket(accented)
            c.wait_idle(120)
            c.print_page(linked, "DossierPatient")
            c.wait_idle(120)
            row = rows[linked]
            url = render_print(world.config, "DossierPatient", row.insi.ins, row.insi.oid).url
            site = world.config.site.name
    finally:
        stand.stop()
    done = [e for e in events if e.kind in ("ticket_printed", "link_printed", "action_failed")]
    assert [e.kind for e in done] == ["ticket_printed", "link_printed"] and all(e.problem is None for e in done)
    receipt = stand.receipt()
    assert receipt.kinds().count("init") == 2 and receipt.kinds().count("cut") == 2
    assert "D'ALEMBERT-LÉVÊQUE MARIE-ÈVE" in receipt.lines and "Né(e) le 11/09/1982" in receipt.lines
    assert receipt.lines.count(site) == 2
    assert [q.data.decode() for q in receipt.qr_codes] == [url]
    if has_zbar():
        assert qr_png_decodes(receipt, tmp_path) == [url]


@pytest.mark.parametrize(("status", "reason"), [({"paper_status": PAPER_END}, PrintFailure.PAPER_OUT),
                                                ({"printer_status": OFFLINE}, PrintFailure.OFFLINE),
                                                ({"mute": True}, PrintFailure.NO_ANSWER)])
def test_printer_status_failures(printer, status, reason) -> None:
    printer.behaviour = dataclasses.replace(printer.behaviour, **status)
    with pytest.raises(PrinterError) as raised:  # a mute printer takes the whole timeout: keep it short there
        print_job(config(printer, timeout_s=3 if reason is PrintFailure.NO_ANSWER else 30), LINK)
    assert raised.value.reason is reason
    if reason is PrintFailure.PAPER_OUT:
        assert printer.receipt().kinds() == []  # asked first: nothing sent to a printer without paper


def test_a_mute_printer_prints_with_confirm_off(printer) -> None:
    printer.behaviour.mute = True
    print_job(config(printer, confirm=False), LINK)
    printer.wait_bytes(200)
    assert printer.receipt().kinds()[-1] == "cut"


def test_a_printer_that_stops_reading_gives_a_bounded_error(printer) -> None:
    """Its buffer full, the printer holds the line: a long job cannot be written, the status is not answered.
    Either way the desk hears of it within printer.timeout_s, not never."""
    printer.behaviour.stalled = True
    long_job = PrintJob(
        tuple(f"ligne {i:05d} " + "é" * 60 for i in range(4000))
    )  # ~280 kB: more than any buffer on the way
    with pytest.raises(PrinterError) as raised:
        print_job(config(printer, timeout_s=3, confirm=False), long_job)
    assert raised.value.reason is PrintFailure.NOT_READING
    with pytest.raises(PrinterError) as raised:
        print_job(config(printer, timeout_s=3), LINK)
    assert raised.value.reason in (PrintFailure.NO_ANSWER, PrintFailure.NOT_READING)


def test_nothing_listening_is_unreachable() -> None:
    with pytest.raises(PrinterError) as raised:
        print_job(PrinterConfig(kind="escpos-network", target="127.0.0.1:9", timeout_s=3), LINK)
    assert raised.value.reason is PrintFailure.UNREACHABLE
    with pytest.raises(PrinterError) as raised:
        print_job(PrinterConfig(kind="escpos-serial", target="/dev/ttyKIOSKABSENT", timeout_s=3), LINK)
    assert raised.value.reason is PrintFailure.UNREACHABLE and "/dev/ttyKIOSKABSENT" in str(raised.value)


def test_reader_refuses_unknown_commands() -> None:
    from tests.support.escpos_reader import EscPosSyntaxError

    with pytest.raises(EscPosSyntaxError):
        read_receipt(b"\x1b@\x1bZ\x00")
    with pytest.raises(EscPosSyntaxError):
        read_receipt(b"\x1b@\x1d(k\x03\x001")  # cut inside a command


def test_cli_test_print(run_kiosk, tmp_path) -> None:
    """`kiosk link PAGE --print`: a technician's test print on the configured printer, exit 3 when it fails."""
    stand = NetworkPrinter()
    try:
        cfg = tmp_path / "kiosk.toml"
        cfg.write_text(f'[printer]\nkind = "escpos-network"\ntarget = "{stand.target}"\ntimeout_s = 20\n')
        done = run_kiosk("link", "TableauDeBord", "--print", config=cfg)
        assert done.returncode == 0, done.stderr
        assert [q.data.decode() for q in stand.receipt().qr_codes] == ["https://wps-cps.dmp.monespacesante.fr/AccesDirect/TableauDeBord"]
        stand.behaviour.paper_status = PAPER_END
        done = run_kiosk("link", "TableauDeBord", "--print", "--json", config=cfg)
        assert (
            done.returncode == 3 and '"error": "printer_paper_out"' in done.stdout and "plus de papier" in done.stdout
        )
    finally:
        stand.stop()


def test_doctor_asks_the_printer_without_printing(printer, tmp_path) -> None:
    from kiosk.appliance.doctor import DoctorContext, Level
    from kiosk.appliance.doctor.printing import check_printer
    from kiosk.config import parse_config

    cfg = config(printer)
    config_, _ = parse_config(f'[printer]\nkind = "{cfg.kind}"\ntarget = "{cfg.target}"\n')
    found = check_printer(DoctorContext(tmp_path / "kiosk.toml", config_))
    assert found.level is Level.OK and "papier présent" in found.message
    printer.behaviour.paper_status = PAPER_END
    found = check_printer(DoctorContext(tmp_path / "kiosk.toml", config_))
    assert found.level is Level.FAIL and found.action == "remettre du papier"
    assert "init" not in printer.receipt().kinds() and printer.receipt().status_requests == [4, 1, 4]
