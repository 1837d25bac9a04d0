"""`kiosk run [--headless]`: the desk on the configured readers and teleservices.

Without --headless, the Textual desk (the receptionist's screen). With it, what systemd runs: JSON lines on
stdout, sd_notify READY / WATCHDOG / STATUS, the local API on a Unix socket (mode 0660).
"""

from __future__ import annotations

import argparse
import contextlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.cli.context import CliContext

if TYPE_CHECKING:
    from kiosk.config import Config

ORDER = 2


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run", parents=[parent], help="the desk on the configured readers and teleservices (systemd runs --headless)"
    )
    p.add_argument("--headless", action="store_true", help="no screen: JSON lines on stdout, sd_notify, local API")
    p.add_argument(
        "--api-socket",
        metavar="PATH",
        help="local API socket (default: $RUNTIME_DIRECTORY/api.sock or /run/kiosk/api.sock)",
    )
    p.add_argument("--no-api", action="store_true", help="headless without the local API")
    p.set_defaults(handler=cmd_run)


def _teleservices(config: Config) -> AbstractContextManager[Any]:
    """The clients; in demo, the simulators where no endpoint is set (their modules loaded only then, not at start)."""
    from kiosk.sim.teleservices import open_teleservices_or_simulators

    return open_teleservices_or_simulators(config)


def _params_source(config: Config) -> AbstractContextManager[Any]:
    """Where param-lps comes from; in demo with the default URL, the embedded simulator (loaded only then)."""
    from kiosk.sim.paramlps import simulator_for_default_url

    return simulator_for_default_url(config)


def cmd_run(ctx: CliContext) -> int:
    from kiosk.appliance.service.runtime import DeskRuntime
    from kiosk.appliance.service.wiring import LivePorts

    config = ctx.config  # ConfigError -> exit 2 before anything starts
    path = ctx.config_path
    metrics = _metrics(config)
    # The composition root: in demo, teleservices without an endpoint and the default param-lps URL are served
    # by the embedded simulators (started when first needed); elsewhere, what the configuration says.
    runtime = DeskRuntime(
        config,
        lambda c: LivePorts(c, config_path=path, metrics=metrics, teleservices=_teleservices),
        config_path=path if path.exists() else None,
        on_config=metrics.reconfigure if metrics else None,
        params_source=_params_source,
    )
    with contextlib.ExitStack() as stack:
        if metrics is not None:
            from kiosk.appliance.metrics.exposition import serve_metrics

            stack.enter_context(serve_metrics(metrics, runtime))  # an address in use: exit 3 before READY
        return _run(ctx, runtime)


def _metrics(config: Config) -> Any:
    from kiosk.appliance.metrics import enabled

    if not enabled(config):
        return None
    from kiosk.appliance.metrics.desk import KioskMetrics

    return KioskMetrics(config)


def _run(ctx: CliContext, runtime: Any) -> int:
    config = runtime.config
    if ctx.args.headless:
        from kiosk.appliance.service.api import default_socket_path
        from kiosk.appliance.service.headless import run_headless

        api = None if ctx.args.no_api else Path(ctx.args.api_socket) if ctx.args.api_socket else default_socket_path()
        return run_headless(runtime, stdout=ctx.stdout, api_path=api, api_limits=config.api.limits())
    import threading

    from ui.app import DeskApp, pick_theme

    runtime.start()
    stop = threading.Event()
    runtime.start_duties(stop)
    try:
        app = DeskApp(runtime.controller, pages=dict(config.webps.pages), site=config.site.name,
                      theme=pick_theme(config.ui.theme), lock_after_s=config.ui.lock_after_s, dmp=config.dmp.enabled)
        app.run()
    finally:
        stop.set()
        runtime.wake.set()
        runtime.stop()
    return 0
