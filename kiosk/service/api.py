"""The local API for the hospital's own software: JSON over a Unix socket (mode 0660, group-restricted).

One JSON request per line, one JSON answer per line:
  {"op": "status"}                                   desk state (no patient data)
  {"op": "identities"}                               the current card's beneficiaries: traits, INS, OID, statuses,
                                                     DMP states (in clear: only while a desk session is open)
  {"op": "page", "page": "DossierPatient", "index": 0}   the Web PS page's auto-submitting XHTML
  {"op": "pin", "pin": "1234"}                       the staff PIN, for a desk without a keyboard
  {"op": "qualify", "index": 0, "document": "CNI"}   record the ID document checked
Answers carry "ok": true, or "ok": false with "error" (a code) and "message" (French).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

from kiosk.desk import DeskStateError, IdDocument, PatientRow
from kiosk.desk.texts import dmp_words, insi_words
from kiosk.errors import KioskError
from kiosk.service.controller import DeskController
from kiosk.service.eventlog import summary

__all__ = ["ApiServer", "default_socket_path"]

log = logging.getLogger(__name__)
MAX_REQUEST = 64 * 1024  # bytes per request line


def default_socket_path() -> Path:
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0] or "/run/kiosk"
    return Path(runtime) / "api.sock"


def identity(row: PatientRow) -> dict[str, Any]:
    b, insi = row.beneficiary, row.insi
    out: dict[str, Any] = {
        "index": row.index,
        "nom_usuel": b.nom_usuel,
        "nom_naissance": b.birth_name,
        "prenom": b.prenom,
        "date_naissance": b.date_naissance,
        "sexe": row.sex,
        "qualite": b.qualite,
        "rang_naissance": b.rang_naissance,
        "insi": {"step": row.insi_step.value, "words": insi_words(row.insi_step, insi.code if insi else None,
                                                                   insi.key_ok if insi and insi.ins else True)},
        "ins_status": row.ins_status.value,
        "id_document": row.document.name if row.document else None,
        "dmp": {"step": row.dmp_step.value, "state": row.dmp.state.value if row.dmp else None,
                "words": dmp_words(row.dmp_step, row.dmp.state if row.dmp else None)},
        "differences": [{"trait": d.trait, "card": d.card, "insi": d.insi} for d in row.differences],
    }
    if insi is not None:
        out["insi"].update(code=insi.code.value, label=insi.label)
        if insi.ins is not None:
            out["insi"].update(ins=insi.ins.value, oid=insi.oid, key_ok=insi.key_ok,
                               former=[{"ins": f.matricule.value, "oid": f.oid} for f in insi.former])
        if insi.traits is not None:
            t = insi.traits
            out["insi"]["traits"] = {"nom_naissance": t.nom_naissance, "prenoms": list(t.prenoms), "sexe": t.sexe,
                                     "date_naissance": t.date_naissance, "lieu_naissance": t.lieu_naissance}
    return out


class ApiServer:
    def __init__(self, controller: DeskController, path: Path, mode: int = 0o660) -> None:
        self.controller = controller
        self.path = Path(path)
        self.mode = mode
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_socket():
            self.path.unlink()  # left by a previous run that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o777 & ~self.mode)  # the socket is born with the right mode: no window at 0777
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, self.mode)
        sock.listen(16)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, name="kiosk-api", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        """Blocks in accept(): no polling interval, so an idle desk never wakes this thread."""
        sock = self._sock  # stop() clears the attribute: keep our own reference
        assert sock is not None
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:  # stop() shut the listening socket down
                return
            threading.Thread(target=self._serve, args=(conn,), name="kiosk-api-client", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as rfile:
            while True:
                line = rfile.readline(MAX_REQUEST + 1)
                if not line:
                    return
                try:
                    answer = self.answer(line)
                except Exception:  # never let one bad request take the service down
                    log.exception("API locale : erreur interne")
                    answer = {"ok": False, "error": "internal", "message": "erreur interne"}
                try:
                    conn.sendall((json.dumps(answer, ensure_ascii=False, default=str) + "\n").encode())
                except OSError:
                    return
                if answer.get("error") == "too_large":
                    return  # the rest of that line is not a request: drop the connection

    def stop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept() at once
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def answer(self, raw: bytes) -> dict[str, Any]:
        if len(raw) > MAX_REQUEST:
            return {"ok": False, "error": "too_large", "message": "requête trop longue"}
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return {"ok": False, "error": "bad_request", "message": "JSON attendu : un objet par ligne"}
        op = request.get("op")
        try:
            if op == "status":
                return {"ok": True, **summary(self.controller.view())}
            if op == "identities":
                view = self.controller.view()
                if not view.is_open:
                    return {"ok": False, "error": "locked", "message": "poste verrouillé : aucune donnée patient"}
                return {"ok": True, "patient": view.patient_phase.value, "beneficiaries": [identity(r) for r in view.rows]}
            if op == "page":
                index = request.get("index")
                page = str(request.get("page", ""))
                ins, oid = self.controller.page_target(index if isinstance(index, int) else None, page)
                return {"ok": True, "page": page, "xhtml": self.controller.ports.webps_page(page, ins, oid)}
            if op == "pin":
                self.controller.submit_pin(str(request.get("pin", "")))
                return {"ok": True}
            if op == "qualify":
                document = IdDocument[str(request.get("document", ""))]
                status = self.controller.qualify(int(request.get("index", -1)), document)
                return {"ok": True, "ins_status": status.value}
        except KeyError:
            return {"ok": False, "error": "bad_request", "message": f"pièce inconnue (attendu : {', '.join(d.name for d in IdDocument)})"}
        except DeskStateError as e:
            return {"ok": False, "error": "state", "message": str(e)}
        except KioskError as e:
            return {"ok": False, "error": type(e).__name__, "message": str(e)}
        return {"ok": False, "error": "unknown_op", "message": "opérations : status, identities, page, pin, qualify"}
