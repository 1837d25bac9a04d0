"""`kiosk config check | show | set | reference`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kiosk import exitcodes
from kiosk.cli.context import CliContext

if TYPE_CHECKING:
    from kiosk.config import Config

ORDER = 80


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", parents=[parent], help="check, show or change the configuration")
    verbs = p.add_subparsers(dest="config_verb", metavar="VERB", required=True)
    check = verbs.add_parser("check", parents=[parent], help="validate a configuration file (exit 2 on errors)")
    check.add_argument("path", nargs="?", help="file to check (default: the effective configuration file)")
    check.set_defaults(handler=cmd_check)
    show = verbs.add_parser("show", parents=[parent], help="the effective configuration, secrets redacted")
    show.set_defaults(handler=cmd_show)
    setp = verbs.add_parser("set", parents=[parent], help="change one value (validated, written atomically)")
    setp.add_argument("key", help="dotted key, e.g. insi.timeout_s or readers.0.role")
    setp.add_argument("value", help="a TOML value (true, 15, [\"a\"]) or text")
    setp.set_defaults(handler=cmd_set)
    ref = verbs.add_parser("reference", parents=[parent], help="every key with its default and meaning (Markdown)")
    ref.set_defaults(handler=cmd_reference)


def cmd_check(ctx: CliContext) -> int:
    from pathlib import Path

    from kiosk.config import parse_config
    from kiosk.config.load import read_config_text
    from kiosk.errors import ConfigError

    path = Path(ctx.args.path) if ctx.args.path else ctx.config_path
    try:
        text = read_config_text(path)
    except FileNotFoundError:
        ctx.emit(
            {"ok": False, "path": str(path), "problems": [{"key": "", "line": None, "message": "fichier introuvable"}]},
            f"{path}: fichier introuvable",
        )
        return exitcodes.USAGE
    except (OSError, UnicodeDecodeError, ConfigError) as e:
        ctx.emit({"ok": False, "path": str(path), "problems": [{"key": "", "line": None, "message": str(e)}]},
                 f"{path}: illisible ({e})")
        return exitcodes.USAGE
    config, problems = parse_config(text, str(path))
    data = {
        "ok": not problems,
        "path": str(path),
        "environment": config.environment,
        "problems": [{"key": p.key, "line": p.line, "message": p.message} for p in problems],
    }
    if problems:
        lines = [f"{path}: {len(problems)} problème(s)"] + [f"  {p}" for p in problems]
        ctx.emit(data, "\n".join(lines))
        return exitcodes.USAGE
    ctx.emit(data, f"{path}: configuration valide (environnement {config.environment})")
    return exitcodes.OK


def effective(config: Config, redact: bool = True) -> dict[str, Any]:
    from kiosk.config.binding import to_plain

    data = to_plain(config, redact=redact)
    for name in ("insi", "dmp"):
        section = getattr(config, name)
        data[name]["endpoint"] = section.resolved_endpoint(config.environment) or "(simulateur intégré)"
    return data


def cmd_show(ctx: CliContext) -> int:
    import tomli_w

    data = effective(ctx.config)
    ctx.emit(data, f"# {ctx.config_path}\n" + tomli_w.dumps(data))
    return exitcodes.OK


def cmd_set(ctx: CliContext) -> int:
    from kiosk.config.edit import set_value

    path = set_value(ctx.args.key, ctx.args.value, ctx.config_path)
    ctx.emit({"ok": True, "path": str(path), "key": ctx.args.key}, f"{path}: {ctx.args.key} modifié")
    return exitcodes.OK


def cmd_reference(ctx: CliContext) -> int:
    from kiosk.config.reference import reference_markdown, reference_rows

    ctx.emit({"keys": reference_rows()}, reference_markdown())
    return exitcodes.OK
