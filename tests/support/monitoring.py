"""Helpers for the monitoring-plugin tests (the CLI's and NRPE's): the output grammar and a param-lps state."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

# monitoring-plugins guidelines: 'label'=value[UOM];[warn];[crit];[min];[max], thresholds as ranges ([@][start:][end])
_RANGE = r"(?:@?(?:-?[\d.]+|~)?:?(?:-?[\d.]+)?)"
PERF = re.compile(rf"^[a-z_]+=-?[\d.]+(?:s|ms|us|%|B|KB|MB|TB|c)?(?:;{_RANGE}){{0,2}}(?:;(?:-?[\d.]+)?){{0,2}}$")
STATUS_LINE = re.compile(r"^KIOSK (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+?)(?: \| (.+))?$")


def params_checked(tmp_path: Path, hours_ago: float) -> None:
    store = tmp_path / "state" / "param-lps"
    (store / "copies").mkdir(parents=True, exist_ok=True)
    when = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
    current = {"sha256": "0" * 64, "url": "https://x", "final_url": "https://x", "fetched_at": when, "size": 1}
    (store / "state.json").write_text(json.dumps({"current": current, "checked_at": when, "last_attempt_at": when}))
