"""Run inside a private mount namespace by the Cryptolib peer test: loads the official ANS PKCS#11 library and
reports what it sees on the first token, as JSON on stdout.

    python cryptolib_client.py LIBRARY WRONG_PIN RIGHT_PIN

It runs in its own process because PyKCS11 holds the GIL during C_Initialize, while the library talks to pcscd
that talks to the virtual card served by the test process.
"""

from __future__ import annotations

import json
import sys

import PyKCS11


def main(library: str, wrong: str, right: str) -> dict[str, object]:
    lib = PyKCS11.PyKCS11Lib()
    lib.load(library)
    tokens: list[dict[str, object]] = []
    out: dict[str, object] = {"library": lib.getInfo().libraryDescription.strip(), "tokens": tokens}
    for slot in lib.getSlotList(tokenPresent=True):
        info = lib.getTokenInfo(slot)
        token: dict[str, object] = {
            "reader": lib.getSlotInfo(slot).slotDescription.strip(" \x00"), "label": info.label.strip(" \x00"),
            "serial": info.serialNumber.strip(" \x00"), "model": info.model.strip(" \x00"), "flags": info.flags2text(),
        }
        session = lib.openSession(slot)
        certs = []
        for obj in session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE)]):
            label, value = session.getAttributeValue(obj, [PyKCS11.CKA_LABEL, PyKCS11.CKA_VALUE])
            certs.append({"label": label, "der": bytes(value).hex()})
        token["certificates"] = certs
        for name, pin in (("wrong_pin", wrong), ("right_pin", right)):
            try:
                session.login(pin)
                token[name] = "CKR_OK"
                session.logout()
            except PyKCS11.PyKCS11Error as e:
                token[name] = PyKCS11.CKR[e.value]
        session.closeSession()
        tokens.append(token)
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])), flush=True)
