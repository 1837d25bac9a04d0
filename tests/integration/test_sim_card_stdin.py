"""`kiosk sim card` keeps obeying its standard input after a failed insert (issue 14, point 11).

Reproduction: an `insert` whose card vpcd never polled raised in the stdin thread, which died; later commands,
`quit` included, were ignored. vpcd is played here by a small TCP server speaking its framing (2-byte length,
then 0x01 power on / 0x04 get ATR), which polls the first insertion and ignores the second."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

from tests.conftest import ROOT


def fake_vpcd(listener: socket.socket) -> None:
    first = True
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        if first:  # power the card on and ask its ATR, as pcscd's vpcd driver does
            conn.sendall(b"\x00\x01\x01" + b"\x00\x01\x04")
            first = False
        threading.Thread(target=lambda c=conn: [None for _ in iter(lambda: c.recv(4096), b"")], daemon=True).start()


def test_a_failed_insert_does_not_deafen_the_simulator(tmp_path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    threading.Thread(target=fake_vpcd, args=(listener,), daemon=True).start()
    env = dict(os.environ, KIOSK_CONFIG=str(tmp_path / "none.toml"))
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "card", "vitale", "--port", str(port), "--json"],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        assert json.loads(proc.stdout.readline())["event"] == "inserted"
        proc.stdin.write("insert\n")  # removed, then re-inserted: this time nobody polls it
        proc.stdin.flush()
        events = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [e["event"] for e in events] == ["removed", "error"] and "interrogé" in events[1]["message"]
        proc.stdin.write("bogus\nquit\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["event"] == "error"  # still listening
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        listener.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
