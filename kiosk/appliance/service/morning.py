"""`kiosk demo --headless`: a scripted morning at the desk, on the demo's virtual cards and simulators.

Every step goes through the same controller, readers, cards and teleservice clients as the real desk;
only the hands are scripted (cards in and out, a PIN typed, an ID document checked).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from drivers.sim.virtual_cards import catalogue as cards
from kiosk.appliance.service.audit import audit_dir, verify_journal
from kiosk.appliance.service.demo import DEMO_PIN, STAFF_READER, VITALE_READER, DemoWorld
from kiosk.appliance.service.his_desk import NEW_PATIENT
from kiosk.desk import DeskStateError, DeskView, IdDocument, ReferenceTraits
from kiosk.desk.events import DeskEvent, EventKind

__all__ = ["play_morning"]


def play_morning(world: DemoWorld, say: Callable[[str], None]) -> dict[str, object]:
    controller = world.runtime.controller
    backend = world.backend
    seen: list[str] = []
    started = threading.Event()
    acks: list[str] = []
    acked = threading.Condition()

    def watch(view: DeskView, event: DeskEvent) -> None:
        seen.append(event.kind)
        if event.kind is EventKind.LOOKUPS_STARTED:
            started.set()
        if event.kind == "his_acknowledged":
            with acked:
                acks.append(str(event.data.get("ack")))
                acked.notify_all()

    def send_to_hospital(index: int, choice: int) -> None:
        """Pick a PDQ candidate (or NEW_PATIENT), confirm, and wait for the hospital's acknowledgement."""
        before = len(acks)
        controller.his_choose(index, choice)
        controller.his_send(index)
        with acked:
            acked.wait_for(lambda: len(acks) > before, 30)

    controller.add_listener(watch)

    def step(clock: str, text: str) -> None:
        say(f"{clock}  {text}")

    def settle() -> None:
        controller.wait_idle(60)

    step("07:55", "La borne démarre et vérifie le fichier param-lps du DMP.")
    world.runtime.run_due(wait_params=True)
    status = world.runtime.params_status
    words = {"updated": "téléchargé", "not-modified": "inchangé", "unchanged": "inchangé", "failed": "échec"}
    say(f"   param-lps : {words.get(str(status.get('status')), 'non vérifié')}"
        + (f" ({status['entries']} entrées)" if status.get("entries") else ""))
    step("07:58", "Une carte Vitale est restée dans le lecteur, le poste est encore verrouillé.")
    backend.insert(VITALE_READER, cards.demo_vitale_single())
    settle()
    step("08:00", "La secrétaire d'accueil insère sa CPE et se trompe de code.")
    backend.insert(STAFF_READER, cards.demo_cpe())
    settle()
    controller.submit_pin("0000")
    settle()
    step("08:01", "Elle tape le bon code : le poste s'ouvre et la carte restée dans le lecteur est traitée.")
    controller.submit_pin(DEMO_PIN)
    settle()
    step("08:03", "La patiente reprend sa carte.")
    backend.remove(VITALE_READER)
    settle()

    step("08:10", "Une famille : quatre bénéficiaires sur une carte (seule l'assurée est connue d'INSi).")
    backend.insert(VITALE_READER, cards.demo_vitale_family())
    settle()
    step(
        "08:11",
        "Elle présente sa carte d'identité : identité qualifiée, l'hôpital la connaît déjà (recherche par INS).",
    )
    controller.qualify(0, IdDocument.CNI)
    settle()
    send_to_hospital(0, 0)  # the one patient the hospital knows under this INS: an update (ADT^A31)
    step("08:12", "Ticket d'admission imprimé pour l'assurée ; page DMP préparée pour elle.")
    controller.print_ticket(0)
    settle()
    ins, oid = controller.page_target(0, "DossierPatient")
    page = controller.ports.webps_page("DossierPatient", ins, oid)
    say(f"   page Web PS DossierPatient prête ({len(page)} octets, INS {ins.masked}, OID {oid})")
    backend.remove(VITALE_READER)
    settle()

    step(
        "08:20",
        "Un père et son fils : la clé de l'INS du père est invalide (donnée de test CNDA), le fils a d'anciens INS.",
    )
    backend.insert(VITALE_READER, cards.demo_vitale_child())
    settle()
    step("08:22", "La secrétaire vérifie le passeport du fils : identité qualifiée.")
    controller.qualify(1, IdDocument.PASSEPORT)
    settle()
    step("08:23", "Inconnu de l'hôpital : la secrétaire choisit « nouveau patient » et envoie l'identité (ADT^A28).")
    send_to_hospital(1, NEW_PATIENT)
    try:
        controller.qualify(0, IdDocument.CNI)
    except DeskStateError as e:  # the key-inconsistent INS can never be qualified: the desk says so
        say(f"   qualification du père refusée : {controller.texts.problem(e.problem)}")
    backend.remove(VITALE_READER)
    settle()

    step("08:30", "Une carte aux noms accentués : pas de DMP pour l'assuré.")
    backend.insert(VITALE_READER, cards.demo_vitale_accents())
    settle()
    backend.remove(VITALE_READER)
    settle()

    step("08:40", "Un patient retire sa carte pendant la recherche (réseau lent) : ses résultats tardifs sont écartés.")
    world.sims.set_latency(1.0)
    started.clear()
    backend.insert(VITALE_READER, cards.demo_vitale_single())
    started.wait(10)
    time.sleep(0.2)
    backend.remove(VITALE_READER)
    settle()
    world.sims.set_latency(0.0)
    view = controller.view()
    say(f"   après le retrait : {len(view.rows)} ligne(s) à l'écran, patient {view.patient_phase.value}")

    step("08:50", "Une patiente sans carte : recherche par traits (deux homonymes, puis le second prénom tranche).")
    controller.lookup_traits(ReferenceTraits("JUMEAU", ("CLAUDE", "MARIE"), "F", "1985-02-07", "75056"))
    settle()
    controller.print_page(None, "TableauDeBord")
    settle()

    step("09:00", "Un patient inconnu d'INSi se présente sans carte.")
    controller.lookup_traits(ReferenceTraits("HOUILLES", ("PIERRE",), "M", "1993-01-27", "63220"))
    settle()

    step("09:05", "La secrétaire part en pause et retire sa CPE : le poste se verrouille.")
    backend.remove(STAFF_READER)
    settle()

    count, problems = verify_journal(audit_dir(world.config))
    say(f"Journal d'audit : {count} entrée(s), chaîne {'intacte' if not problems else 'ROMPUE'}.")
    return {"events": len(seen), "audit_entries": count, "audit_ok": not problems, "his_acks": acks}
