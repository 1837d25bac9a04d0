"""The param-lps store (atomic, last good copies kept, corruption tolerated) and the refresh-due rule."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

from kiosk.config import parse_config
from kiosk.sim.paramlps import sample_document
from kiosk.teleservices.params import current_settings, seconds_until_due
from kiosk.teleservices.params.store import KEEP_PREVIOUS, Copy, Store, iso, utcnow


def _copy(data: bytes, when: str = "2026-01-01T00:00:00+00:00") -> Copy:
    return Copy(
        hashlib.sha256(data).hexdigest(), "https://www.dmp.fr/p", "https://www.dmp.fr/p", when, len(data), '"e"'
    )


def _config(tmp_path: Path, extra: str = ""):  # type: ignore[no-untyped-def]
    config, _problems = parse_config(f'environment = "prod"\nstate_dir = "{tmp_path}"\n{extra}')
    return config


def test_commit_keeps_previous_good_copies_and_prunes_the_rest(tmp_path: Path) -> None:
    store = Store(tmp_path)
    state = store.load()
    docs = [sample_document(parameters={"ageMajorite": str(18 + i)}) for i in range(KEEP_PREVIOUS + 3)]
    with store.locked():
        for data in docs:
            state = store.commit(data, _copy(data), state, utcnow())
    assert state.current and state.current.sha256 == _copy(docs[-1]).sha256
    assert [c.sha256 for c in state.previous] == [_copy(d).sha256 for d in reversed(docs[-1 - KEEP_PREVIOUS:-1])]
    assert len(list((tmp_path / "param-lps" / "copies").glob("*.xml"))) == KEEP_PREVIOUS + 1
    assert store.load().to_dict() == state.to_dict()


def test_a_corrupt_current_copy_falls_back_to_the_previous_good_one(tmp_path: Path) -> None:
    store = Store(tmp_path)
    old, new = sample_document(parameters={"ageMajorite": "17"}), sample_document(parameters={"ageMajorite": "19"})
    state = store.commit(old, _copy(old), store.load(), utcnow())
    state = store.commit(new, _copy(new), state, utcnow())
    (store.copies / f"{_copy(new).sha256}.xml").write_bytes(new[:40])  # disk damage
    config = _config(tmp_path)
    assert current_settings(config).value("dmp.majority_age") == 17


def test_an_unreadable_index_means_no_copy_not_a_crash(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.root.mkdir(parents=True)
    store.index.write_text("{ pas du json")
    settings = current_settings(_config(tmp_path))
    assert settings.copy is None
    assert settings["webps.cpx_base"].source == "built-in"


def test_sources_config_over_param_lps_over_built_in(tmp_path: Path) -> None:
    data = sample_document(urls={"webPsPsc": "https://wps-psc.nouveau.monespacesante.fr"})
    Store(tmp_path).commit(
        data, _copy(data, iso(utcnow() - timedelta(hours=2)) or ""), Store(tmp_path).load(), utcnow()
    )
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text("")
    config = _config(tmp_path, '[webps]\ncpx_base = "https://wps-cps.ailleurs.example"\n')
    settings = current_settings(config, config_path=config_file)
    assert (settings["webps.cpx_base"].value, settings["webps.cpx_base"].source) == (
        "https://wps-cps.ailleurs.example",
        "config",
    )
    assert settings["webps.cpx_base"].age_s() is not None
    psc = settings["webps.psc_base"]
    assert (psc.value, psc.source) == ("https://wps-psc.nouveau.monespacesante.fr", "param-lps")
    assert 7100 < (psc.age_s() or 0) < 7300
    assert settings["params.url"].source == "built-in" and settings["params.url"].age_s() is None
    shown = json.dumps(settings.to_dict())
    assert "delaiAutorisationMois" in shown  # unknown entries stay visible


def test_test_environment_has_no_built_in_web_ps_base(tmp_path: Path) -> None:
    config, _ = parse_config(f'environment = "test"\nstate_dir = "{tmp_path}"\n')
    setting = current_settings(config)["webps.cpx_base"]
    assert setting.value is None and setting.source == "absent" and "webps.cpx_base" in (setting.note or "")


def test_a_stored_copy_is_rechecked_against_todays_allow_list(tmp_path: Path) -> None:
    data = sample_document()
    Store(tmp_path).commit(data, _copy(data), Store(tmp_path).load(), utcnow())
    narrowed = _config(tmp_path, '[params]\nallowed_domains = ["dmp.fr"]\n')  # monespacesante.fr no longer allowed
    assert current_settings(narrowed)["webps.cpx_base"].source == "built-in"


def test_refresh_is_due_when_never_done_then_after_the_period_and_retries_after_a_failure(tmp_path: Path) -> None:
    config = _config(tmp_path, "[params]\nrefresh_hours = 24\n")
    now = utcnow()
    assert seconds_until_due(config, now=now) == 0
    store = Store(tmp_path)
    data = sample_document()
    state = store.commit(data, _copy(data), store.load(), now)
    assert 23.9 * 3600 < seconds_until_due(config, now=now) <= 24 * 3600
    assert seconds_until_due(config, now=now + timedelta(hours=24)) == 0
    store.record_failure(state, now + timedelta(hours=25), "serveur injoignable")
    assert seconds_until_due(config, now=now + timedelta(hours=25, minutes=5)) > 0  # no hammering
    assert seconds_until_due(config, now=now + timedelta(hours=25, minutes=15)) == 0
