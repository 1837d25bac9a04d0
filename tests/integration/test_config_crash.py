"""A crash at any point of `config set` leaves the old file or the new one, never a broken one.

A child process rewrites the file in a loop; once it has written at least once (seen on disk, however slow
the machine), it is SIGKILLed at a random moment; after each kill the file must parse and hold one of the values
written.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from tests.support.patience import wait_until

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from kiosk.config.edit import set_value
path = sys.argv[1]
i = 0
while True:
    i += 1
    set_value("site.name", "x" * (i % 5000) + str(i), path)
    set_value("insi.timeout_s", str(1 + i % 50), path)
"""


def test_sigkill_during_set_never_breaks_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[site]\nname = "start"\n')
    rng = random.Random(1234)
    for _ in range(15):
        before = cfg.read_bytes()
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(cfg)], cwd=ROOT)
        # every write changes the text (a counter), and each lands by rename: a different text means a write happened
        wait_until(lambda before=before, child=child: cfg.read_bytes() != before or child.poll() is not None,
                   interval=0.01, message="the writer never wrote")
        assert child.poll() is None, "the writer died on its own"
        time.sleep(rng.uniform(0.0, 0.3))  # then a random moment inside the loop
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        data = tomllib.loads(cfg.read_text())  # must parse
        assert data["site"]["name"][-1].isdigit()  # one of the values written
    leftovers = [p for p in tmp_path.iterdir() if p.name != "kiosk.toml"]
    # a kill between mkstemp and rename may leave a temp file; it is never the configuration itself
    assert all(p.name.startswith(".kiosk.toml.") for p in leftovers)
