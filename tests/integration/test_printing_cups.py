"""Printing through a real CUPS server: Debian's cupsd in the test's namespaces, a cups-pdf queue, the kiosk's
`[printer] kind = "cups"` over IPP; the PDF read back by poppler and its QR code by zbar, both independent of
the kiosk. Then each way CUPS can fail, said in French on the desk and recorded in the journal."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.printing import PrinterError, PrintFailure, link_job, print_job
from kiosk.appliance.service.audit import audit_dir, read_entries
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.config.schema import PrinterConfig
from tests.support.readback import pdf_text, pdf_to_png, qr_codes

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parents[2] / "docs" / "printing"


@pytest.fixture(scope="module")
def cupsd():
    from tests.support.cupsd import Cupsd, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    daemon = Cupsd()
    try:
        daemon.start()
        daemon.add_pdf_queue("pdf")
        daemon.add_queue("hang", "socket://127.0.0.1:9")  # nothing listens: the job never completes
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def world():
    with DemoWorld() as w:
        c = w.runtime.controller
        w.backend.insert(STAFF_READER, cards.demo_cpe())
        c.wait_idle(60)
        c.submit_pin(DEMO_PIN)
        c.wait_idle(60)
        assert c.view().is_open
        yield w


def use_printer(world, **printer) -> list:
    """Point the running desk at `printer`; returns the list its events are appended to."""
    c = world.runtime.controller
    c.ports.config = dataclasses.replace(c.ports.config, printer=PrinterConfig(**printer))
    events: list = []
    c.add_listener(lambda view, event: events.append(event))
    return events


def test_ticket_and_link_through_cups_read_back(cupsd, world, tmp_path) -> None:
    from kiosk.teleservices.webps import render_print

    c = world.runtime.controller
    events = use_printer(world, kind="cups", target=cupsd.url("pdf"), timeout_s=180)
    world.backend.insert(VITALE_READER, cards.demo_vitale_accents())
    c.wait_idle(60)
    rows = c.view().rows
    accented = next(i for i, r in enumerate(rows) if r.beneficiary.nom_usuel == "D'ALEMBERT-LÉVÊQUE")
    linked = next(i for i, r in enumerate(rows) if r.insi is not None and r.insi.found and r.insi.key_ok)

    c.print_ticket(accented)
    c.wait_idle(240)
    c.print_page(linked, "DossierPatient")
    c.wait_idle(240)
    done = [e for e in events if e.kind in ("ticket_printed", "link_printed", "action_failed")]
    assert [e.kind for e in done] == ["ticket_printed", "link_printed"], [e.data for e in done]
    assert all(e.problem is None for e in done)

    ticket_pdf, link_pdf = cupsd.wait_pdfs(2)  # the jobs completed: cups-pdf has written both
    ticket = pdf_text(ticket_pdf)
    for expected in (
        "Ticket d'admission",
        world.config.site.name,
        "D'ALEMBERT-LÉVÊQUE MARIE-ÈVE",
        "Né(e) le 11/09/1982",
    ):
        assert expected in ticket, ticket
    assert any(len(w) == 10 and w[2] == w[5] == "/" for w in ticket.split())  # the date printed

    row = rows[linked]
    resolved = render_print(world.config, "DossierPatient", row.insi.ins, row.insi.oid)
    text = pdf_text(link_pdf)
    for expected in ("Accès au DMP - Web PS", world.config.site.name, "Page : Récapitulatif du DMP du patient",
                     f"INS {row.insi.ins.masked}"):
        assert expected in text, text
    assert qr_codes(pdf_to_png(link_pdf, tmp_path / "link")) == [resolved.url]

    # privacy: fixed job titles, no patient data in file names nor anywhere in the server's spool and logs
    assert sorted(p.name.split("-job_")[0].split("__")[0] for p in (ticket_pdf, link_pdf)) == [
        "Lien_Web_PS",
        "Ticket_d_admission",
    ]
    everything = b"".join(p.read_bytes() for p in cupsd.root.rglob("*") if p.is_file() and cupsd.out not in p.parents)
    for secret in ("ALEMBERT", "LÉVÊQUE", "19820911", "11/09/1982", str(row.insi.ins.value)):
        assert secret.encode() not in everything
    assert not [p.name for p in cupsd.spool.iterdir() if p.name.startswith("d")]  # PreserveJobFiles No

    entries = [e for e in read_entries(audit_dir(world.config)) if e["action"] in ("ticket_printed", "link_printed")]
    assert [(e["action"], e["outcome"]) for e in entries] == [("ticket_printed", "ok"), ("link_printed", "ok")]

    for pdf, name, height in ((ticket_pdf, "ticket-admission", 200), (link_pdf, "lien-webps", 400)):  # README's
        png = pdf_to_png(pdf, tmp_path / name, dpi=72, size=(595, height))  # the top of the A4 page
        assert name == "ticket-admission" or qr_codes(png) == [resolved.url]
        if os.environ.get("KIOSK_UPDATE_DOCS") == "1":
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, DOCS / png.name)


@pytest.mark.parametrize("fault", ["stopped", "refusing", "timeout", "down", "unknown"])
def test_cups_faults_are_french_errors_on_the_desk_and_in_the_journal(cupsd, world, fault, caplog) -> None:
    c = world.runtime.controller
    target, reason = {
        "stopped": (cupsd.url("pdf"), PrintFailure.STOPPED),
        "refusing": (cupsd.url("pdf"), PrintFailure.REFUSING),
        "timeout": (cupsd.url("hang"), PrintFailure.NOT_COMPLETED),
        "down": ("ipp://127.0.0.1:9/printers/pdf", PrintFailure.UNREACHABLE),
        "unknown": (cupsd.url("absente"), PrintFailure.UNKNOWN_QUEUE),
    }[fault]
    events = use_printer(world, kind="cups", target=target, timeout_s=4)
    before = len(cupsd.pdfs())
    if fault == "stopped":
        cupsd.admin("cupsdisable", "pdf")
    if fault == "refusing":
        cupsd.admin("cupsreject", "pdf")
    try:
        c.print_page(None, "TableauDeBord")
        c.wait_idle(120)
    finally:
        cupsd.admin("cupsenable", "pdf")
        cupsd.admin("cupsaccept", "pdf")
    failed = [e for e in events if e.kind in ("link_printed", "action_failed")]
    assert [e.kind for e in failed] == ["action_failed"]
    message = c.texts.problem(failed[0].problem)
    assert message.startswith("Impression impossible") and "Impression envoyée" not in message
    entries = [e for e in read_entries(audit_dir(world.config)) if e["action"] == "link_printed"]
    assert [(e["outcome"], e["detail"]["detail"]) for e in entries] == [("error", reason.value)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "kiosk.appliance.printing"]  # the service's journal
    assert len(warnings) == 1 and warnings[0].startswith(f"impression impossible (cups, {reason.value}) : ")
    assert len(cupsd.pdfs()) == before  # nothing came out, and nothing will: a timed-out job is cancelled


def test_print_job_raises_the_reason(cupsd) -> None:
    """The same failures without the desk, as `kiosk.appliance.printing` callers see them."""
    job = link_job("Accès au DMP - Web PS\nTest\n", "https://wps-cps.dmp.monespacesante.fr/AccesDirect/TableauDeBord")
    with pytest.raises(PrinterError) as raised:
        print_job(PrinterConfig(kind="cups", target=cupsd.url("hang"), timeout_s=2), job)
    assert raised.value.reason is PrintFailure.NOT_COMPLETED
    jobs = subprocess.run(
        ["lpstat", "-h", str(cupsd.socket), "-o", "hang"], check=False, capture_output=True, text=True
    ).stdout
    assert jobs.strip() == ""  # cancelled, not left in the queue


def test_doctor_asks_the_queue(cupsd, tmp_path) -> None:
    from kiosk.appliance.doctor import DoctorContext, Level
    from kiosk.appliance.doctor.printing import check_printer
    from kiosk.config import parse_config

    config, _ = parse_config(f'[printer]\nkind = "cups"\ntarget = "{cupsd.url("pdf")}"\n')
    ctx = DoctorContext(tmp_path / "kiosk.toml", config)
    assert check_printer(ctx).level is Level.OK
    cupsd.admin("cupsdisable", "pdf")
    try:
        found = check_printer(ctx)
    finally:
        cupsd.admin("cupsenable", "pdf")
    assert found.level is Level.FAIL and "arrêtée" in found.message and "cupsenable" in found.action


def test_doctor_checks_the_local_cupsd_keeps_nothing(cupsd, monkeypatch, tmp_path) -> None:
    """`kiosk doctor` on a kiosk whose queue is on a local cupsd: this one (tmpfs, PreserveJobFiles No) passes;
    the same with documents kept and the spool on a disk fails, saying what to change."""
    from kiosk.appliance.doctor import DoctorContext, Level
    from kiosk.appliance.doctor import printing as checks
    from kiosk.config import parse_config

    config, _ = parse_config(f'[printer]\nkind = "cups"\ntarget = "{cupsd.url("pdf")}"\n')
    ctx = DoctorContext(tmp_path / "kiosk.toml", config)
    files_conf = cupsd.cupsd_conf.with_name("cups-files.conf")
    monkeypatch.setattr(checks, "CUPSD_CONF", cupsd.cupsd_conf)
    monkeypatch.setattr(checks, "CUPS_FILES_CONF", files_conf)
    found = checks.check_print_privacy(ctx)
    assert found.level is Level.OK and "tmpfs" in found.message

    kept = tmp_path / "cupsd.conf"
    kept.write_text(cupsd.cupsd_conf.read_text().replace("PreserveJobFiles No", "PreserveJobFiles Yes"))
    on_disk = tmp_path / "cups-files.conf"
    on_disk.write_text(files_conf.read_text().replace(f"RequestRoot {cupsd.spool}", f"RequestRoot {tmp_path}"))
    monkeypatch.setattr(checks, "CUPSD_CONF", kept)
    monkeypatch.setattr(checks, "CUPS_FILES_CONF", on_disk)
    found = checks.check_print_privacy(ctx)
    assert (
        found.level is Level.FAIL and "PreserveJobFiles Yes" in found.message and f"spool {tmp_path}" in found.message
    )
    assert "PreserveJobFiles No" in found.action
