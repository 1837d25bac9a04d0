"""`[[readers]]`: logical readers, GALSS's channels (readers.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kiosk.config.binding import doc

Role = Literal["patient", "staff", "any"]
Backend = Literal["pcsc", "serial", "sim"]


@dataclass(frozen=True)
class ReaderConfig:
    name: str = doc(text="Logical name used by the desk and the CLI (`--reader NAME`), e.g. \"vitale\".")
    role: Role = doc("any", "Which cards this reader is for: patient (Vitale), staff (CPx) or any.")
    backend: Backend = doc(
        "pcsc", "pcsc (through pcscd), serial (direct serial CCID driver) or sim (embedded simulator)."
    )
    match: str = doc(
        "",
        'Glob pattern on the physical reader name (pcsc: e.g. "Gemalto*"; serial: "<model> <port>"); empty matches any '
        'reader.',
    )
    port: str = doc("", "serial: device path (/dev/ttyUSB0) or any pyserial URL (loop://, socket://host:port, spy://...).")
    protocol: Literal["ccid", "gbp"] = doc(
        "ccid",
        "serial: line protocol: ccid (serial CCID, GemPC Twin family) or gbp (Gemplus Block Protocol, GemCore readers: "
        "GemPC410, GemPC413).",
    )
    model: str = doc(
        "GemPCTwin",
        "serial: reader model (GemPCTwin, GemPCPinPad, GemCorePOSPro, GemCoreSIMPro; GemPC410, GemPC413 with gbp); "
        "decides the command echo.",
    )
    baud: int = doc(115200, "serial: line speed in baud.", bounds=(1200, 4_000_000))
    echo: Literal["auto", "on", "off"] = doc(
        "auto", "serial: whether the reader echoes every command (auto: by model, on for GemPC Twin and PinPad)."
    )

    def check(self, root: Any) -> Iterable[tuple[tuple, str]]:
        if not self.name.strip():
            yield ("name",), "nom de lecteur obligatoire (ex. \"vitale\")"
        if self.backend == "serial" and not self.port:
            yield ("port",), "port série obligatoire avec backend = \"serial\" (ex. \"/dev/ttyUSB0\")"
        if self.backend == "serial":
            from drivers.serial.models import MODELS

            if self.model.lower() not in MODELS:
                yield ("model",), "modèle attendu : " + ", ".join(m.name for m in MODELS.values())
        if self.baud not in (9600, 19200, 38400, 57600, 115200):
            yield ("baud",), "vitesse attendue : 9600, 19200, 38400, 57600 ou 115200"
