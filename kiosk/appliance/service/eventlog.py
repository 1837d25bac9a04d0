"""The headless service's output: one JSON object per line on stdout for each desk event, patient data masked.

A supervisor, a log shipper or a test reads these lines; journald keeps them. Names appear as initials,
INS as `2970...78`, birth dates never.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from kiosk.desk import DeskView, PatientRow
from kiosk.desk.events import DeskEvent, Problem
from kiosk.desk.texts import Texts, dmp_words, insi_words
from kiosk.domain.privacy import mask_name

__all__ = ["JsonLines", "masked_row"]


def masked_row(row: PatientRow) -> dict[str, Any]:
    b = row.beneficiary
    insi = row.insi
    return {
        "index": row.index,
        "initials": f"{mask_name(b.prenom)} {mask_name(b.birth_name)}".strip(),
        "qualite": b.qualite,
        "insi": insi_words(row.insi_step, insi.code if insi else None, insi.key_ok if insi and insi.ins else True),
        "ins": insi.ins.masked if insi and insi.ins else "",
        "ins_status": row.ins_status.value,
        "dmp": dmp_words(row.dmp_step, row.dmp.state if row.dmp else None),
        "differences": [d.trait for d in row.differences],
    }


class JsonLines:
    """A controller listener writing one line per event (thread-safe). A `problem` is written as its reason
    code and, for people reading the journal, the catalogue's sentence."""

    def __init__(self, stream: TextIO, texts: Texts | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.texts = texts or Texts()

    def __call__(self, view: DeskView, event: DeskEvent) -> None:
        data = {k: v for k, v in event.data.items() if not isinstance(v, Problem)}
        problem = event.problem
        if problem is not None:
            data.update(reason=problem.reason.value, message=self.texts.problem(problem))
        self.write({"event": event.kind.value, **data, "desk": summary(view)})

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **record},
                          ensure_ascii=False, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def summary(view: DeskView) -> dict[str, Any]:
    return {
        "staff": view.staff_phase.value,
        "card_type": view.holder.card_type if view.holder else "",
        "tries_left": view.pin_tries_left,
        "patient": view.patient_phase.value,
        "rows": [masked_row(r) for r in view.rows],
    }
