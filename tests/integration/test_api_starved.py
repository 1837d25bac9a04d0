"""The local API's accept loop out of descriptors (issue 14, point 3): it backs off and resumes, and after
`unhealthy_after_s` of failures reports itself unhealthy (the headless loop then stops the watchdog pings)."""

from __future__ import annotations

import json
import os
import resource
import socket
import types

from kiosk.appliance.service.api import ApiLimits, ApiServer
from kiosk.desk import DeskSession
from tests.support.patience import wait_until


def test_accept_backs_off_on_emfile_turns_unhealthy_and_recovers(tmp_path) -> None:
    now = [0.0]
    controller = types.SimpleNamespace(view=DeskSession().view)
    api = ApiServer(controller, tmp_path / "api.sock", limits=ApiLimits(unhealthy_after_s=30), clock=lambda: now[0])  # type: ignore[arg-type]
    api.start()
    clients = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fillers: list[int] = []
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
        try:
            while True:
                fillers.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass  # the table is full: the server's accept() cannot get a descriptor either
        for c in clients:
            c.settimeout(60)
            c.connect(str(api.path))  # queued in the backlog: needs no new descriptor on our side
        wait_until(lambda: api.accept_failing, interval=0.02, message="accept() never failed")
        assert api.healthy
        now[0] += 31
        assert not api.healthy  # the headless loop stops pinging the watchdog now
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        for c in clients:
            c.sendall(b'{"op": "status"}\n')
            answer = json.loads(c.makefile().readline())
            assert answer["ok"] and answer["api_version"] == 2
        assert api.healthy
    finally:
        for c in clients:
            c.close()
        api.stop()
