"""`kiosk params sync` against a loopback HTTPS param-lps server (test PKI): redirects, 304, bad and hostile
XML, URLs outside the allow-list, truncated and oversized downloads, a server down, an untrusted server.
Every failure must leave the last good copy in force."""

from __future__ import annotations

import gzip
import json
import socket
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.config import parse_config
from kiosk.sim.paramlps import DOCUMENT_PATH, ParamLpsServer, Route, sample_document
from kiosk.teleservices.params import ParamsDataError, ParamsFetchError, current_settings, refresh_if_due, sync
from kiosk.teleservices.params.store import Store, utcnow

DOMAINS = ["dmp.fr", "dmp.gouv.fr", "monespacesante.fr", "127.0.0.1", "localhost"]
HOSTILE = b"""<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<parametresLPS><url nom="webPsCpx">https://wps-cps.dmp.monespacesante.fr</url><x>&b;</x></parametresLPS>"""


@pytest.fixture
def server(pki):  # type: ignore[no-untyped-def]
    with ParamLpsServer(pki) as srv:
        yield srv


def _toml(tmp_path: Path, server: ParamLpsServer, **params: object) -> str:
    values = {"url": server.url(), "ca_bundle": server.ca_bundle, "allowed_domains": DOMAINS, **params}
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    return f'state_dir = "{tmp_path / "state"}"\n[params]\n' + "\n".join(lines) + "\n"


def _config(tmp_path: Path, server: ParamLpsServer, **params: object):  # type: ignore[no-untyped-def]
    config, problems = parse_config(_toml(tmp_path, server, **params))
    assert not problems, problems
    return config


def _current_sha(tmp_path: Path) -> str | None:
    state = Store(tmp_path / "state").load()
    return state.current.sha256 if state.current else None


def test_first_download_then_304_with_etag(tmp_path: Path, server: ParamLpsServer) -> None:
    config = _config(tmp_path, server)
    first = sync(config)
    assert first.status == "updated" and first.entries == 9
    assert "If-None-Match" not in server.requests[-1].headers
    second = sync(config)
    assert second.status == "not-modified" and second.sha256 == first.sha256
    assert server.requests[-1].headers["If-None-Match"] == server.document_route.headers["ETag"]
    assert current_settings(config)["webps.cpx_base"].source == "param-lps"


def test_304_with_if_modified_since(tmp_path: Path, server: ParamLpsServer) -> None:
    server.set_document(sample_document(), etag=False)
    config = _config(tmp_path, server)
    assert sync(config).status == "updated"
    assert sync(config).status == "not-modified"
    assert server.requests[-1].headers["If-Modified-Since"] == server.document_route.headers["Last-Modified"]


def test_a_new_version_replaces_the_copy_and_keeps_the_previous(tmp_path: Path, server: ParamLpsServer) -> None:
    config = _config(tmp_path, server)
    old = sync(config).sha256
    server.set_document(sample_document(urls={"webPsPsc": "https://wps-psc2.dmp.monespacesante.fr"}))
    new = sync(config)
    assert new.status == "updated" and new.sha256 != old
    state = Store(tmp_path / "state").load()
    assert [c.sha256 for c in state.previous] == [old]
    assert current_settings(config).value("webps.psc_base") == "https://wps-psc2.dmp.monespacesante.fr"


def test_follows_301_302_303_each_hop_checked(tmp_path: Path, server: ParamLpsServer) -> None:
    server.redirect("/ancien", "/intermediaire", 301)
    server.redirect("/intermediaire", server.url("/final", host="localhost"), 302)
    server.redirect("/final", DOCUMENT_PATH, 303)
    config = _config(tmp_path, server, url=server.url("/ancien"))
    result = sync(config)
    assert result.status == "updated"
    assert result.redirects == [server.url("/intermediaire"), server.url("/final", host="localhost"),
                                server.url(DOCUMENT_PATH, host="localhost")]
    assert [r.path for r in server.requests] == ["/ancien", "/intermediaire", "/final", DOCUMENT_PATH]


@pytest.mark.parametrize("location,fragment", [
    ("http://127.0.0.1:{port}/web/dmp/documents/param-lps", "https"),
    ("https://param-lps.evil.example/param-lps", "hors de la liste"),
    ("/boucle", "redirections"),
    ("https://localhost\\.dmp.fr:{port}/web/dmp/documents/param-lps", "barre oblique inverse"),  # issue 14
    ("https://localhost%5c.dmp.fr:{port}/web/dmp/documents/param-lps", "barre oblique inverse"),
    ("https://127.0.0.1@www.dmp.fr:{port}/web/dmp/documents/param-lps", "identifiants"),
    ("https://www.dmp.fr.:{port}/web/dmp/documents/param-lps", "point final"),
])
def test_bad_redirects_are_refused_and_keep_the_good_copy(tmp_path: Path, server: ParamLpsServer,
                                                          location: str, fragment: str) -> None:
    config = _config(tmp_path, server)
    good = sync(config).sha256
    server.redirect("/boucle", location.format(port=server.port), 302)
    with pytest.raises(ParamsFetchError, match=fragment):
        sync(config, server.url("/boucle"))
    assert _current_sha(tmp_path) == good
    assert all(r.path == "/boucle" or r.path == DOCUMENT_PATH for r in server.requests)


@pytest.mark.parametrize("body,error,fragment", [
    (b"<parametresLPS><url nom='webPsCpx'>https://wps-cps", ParamsDataError, "mal formé"),
    (b"<html><body>Maintenance</body></html>", ParamsDataError, "aucun paramètre connu"),
    (HOSTILE, ParamsDataError, "DTD"),
    (sample_document(urls={"webPsCpx": "https://wps-cps.dmp.monespacesante.fr.evil.example"}), ParamsDataError,
     "hors de la liste"),
    (sample_document(urls={"webPsPsc": "http://wps-psc.dmp.monespacesante.fr"}), ParamsDataError, "https"),
])
def test_bad_or_hostile_documents_never_replace_the_good_copy(tmp_path: Path, server: ParamLpsServer,
                                                               body: bytes, error: type, fragment: str) -> None:
    config = _config(tmp_path, server)
    good = sync(config).sha256
    server.set_document(body)
    with pytest.raises(error, match=fragment):
        sync(config)
    assert _current_sha(tmp_path) == good
    state = Store(tmp_path / "state").load()
    assert state.last_error and fragment in state.last_error
    assert current_settings(config).value("webps.cpx_base") == "https://wps-cps.dmp.monespacesante.fr"


def test_truncated_download_is_refused(tmp_path: Path, server: ParamLpsServer) -> None:
    config = _config(tmp_path, server)
    good = sync(config).sha256
    data = sample_document(parameters={"ageMajorite": "19"})
    server.routes[DOCUMENT_PATH] = Route(200, data, {"Content-Type": "application/xml"}, truncate_to=len(data) // 2)
    with pytest.raises(ParamsFetchError, match="tronqué"):
        sync(config)
    assert _current_sha(tmp_path) == good


def test_size_limit_declared_and_after_decompression(tmp_path: Path, server: ParamLpsServer) -> None:
    config = _config(tmp_path, server, max_bytes=20_000)
    server.set_document(sample_document(parameters={"bourrage": "x" * 30_000}))
    with pytest.raises(ParamsFetchError, match="volumineux"):
        sync(config)
    bomb = gzip.compress(sample_document().replace(b"</parametresLPS>", b" " * 5_000_000 + b"</parametresLPS>"))
    assert len(bomb) < 20_000
    server.routes[DOCUMENT_PATH] = Route(200, bomb, {"Content-Type": "application/xml", "Content-Encoding": "gzip"})
    with pytest.raises(ParamsFetchError, match="volumineux"):
        sync(config)
    assert _current_sha(tmp_path) is None


def test_http_error_status(tmp_path: Path, server: ParamLpsServer) -> None:
    server.routes[DOCUMENT_PATH] = Route(503, b"indisponible")
    with pytest.raises(ParamsFetchError, match="HTTP 503"):
        sync(_config(tmp_path, server))


def test_a_download_url_outside_the_allow_list_is_not_contacted(tmp_path: Path, server: ParamLpsServer) -> None:
    _, problems = parse_config(_toml(tmp_path, server, allowed_domains=["dmp.fr"]))
    assert [p.key for p in problems] == ["params.url"] and "hors de la liste" in problems[0].message
    config = _config(tmp_path, server, allowed_domains=["dmp.fr"], url="https://www.dmp.fr/web/dmp/documents/param-lps")
    with pytest.raises(ParamsFetchError, match="hors de la liste"):
        sync(config, server.url())
    with pytest.raises(ParamsFetchError, match="https"):
        sync(config, "http://www.dmp.fr/web/dmp/documents/param-lps")
    assert server.requests == []


def test_server_down(tmp_path: Path, server: ParamLpsServer) -> None:
    config = _config(tmp_path, server)
    good = sync(config).sha256
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ParamsFetchError, match="injoignable"):
        sync(config, f"https://127.0.0.1:{port}/param-lps")
    assert _current_sha(tmp_path) == good


def test_untrusted_server_certificate(tmp_path: Path, server: ParamLpsServer) -> None:
    with pytest.raises(ParamsFetchError, match="TLS"):
        sync(_config(tmp_path, server, ca_bundle=""))  # the system's trust store doesn't know the test CA


def test_missing_ca_bundle_is_named(tmp_path: Path, server: ParamLpsServer) -> None:
    with pytest.raises(ParamsFetchError, match="params.ca_bundle"):
        sync(_config(tmp_path, server, ca_bundle=str(tmp_path / "absent.pem")))


def test_refresh_if_due_for_the_service(tmp_path: Path, server: ParamLpsServer) -> None:
    config = _config(tmp_path, server)
    now = utcnow()
    assert refresh_if_due(config, now=now).status == "updated"  # type: ignore[union-attr]
    assert refresh_if_due(config, now=now + timedelta(hours=23)) is None
    assert refresh_if_due(config, now=now + timedelta(hours=24, seconds=1)).status == "not-modified"  # type: ignore[union-attr]
    server.routes[DOCUMENT_PATH] = Route(500, b"")
    failed = refresh_if_due(config, now=now + timedelta(hours=49))
    assert failed is not None and failed.status == "failed" and "HTTP 500" in (failed.error or "")
    assert refresh_if_due(config, now=now + timedelta(hours=49, minutes=1)) is None  # retry later, no hammering


def test_cli_sync_and_show(run_kiosk, tmp_path: Path, server: ParamLpsServer) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(_toml(tmp_path, server))
    done = run_kiosk("params", "sync", "--json", config=config)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "updated"
    server.set_document(HOSTILE)
    done = run_kiosk("params", "sync", config=config)
    assert done.returncode == 3 and "DTD" in done.stderr
    shown = run_kiosk("params", "show", "--json", config=config)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    by_name = {s["name"]: s for s in data["settings"]}
    assert by_name["webps.cpx_base"]["source"] == "param-lps" and by_name["webps.cpx_base"]["age_s"] is not None
    assert by_name["params.url"]["source"] == "config"
    assert by_name["dmp.majority_age"]["value"] == 18
    assert "DTD" in data["param_lps"]["last_error"]
    assert {e["name"] for e in data["extras"]} == {"matriceCompatibiliteNavigateur", "delaiAutorisationMois"}
    human = run_kiosk("params", "show", config=config)
    assert "source : param-lps" in human.stdout and "en échec" in human.stdout


def test_unusable_state_directory_is_a_clear_failure(run_kiosk, tmp_path: Path, server: ParamLpsServer) -> None:
    (tmp_path / "state").write_text("un fichier, pas un répertoire")
    config = tmp_path / "kiosk.toml"
    config.write_text(_toml(tmp_path, server))
    done = run_kiosk("params", "sync", config=config)
    # A configuration error since issue 14 (point 8): refused by the schema before anything runs.
    assert done.returncode == 2 and "state_dir" in done.stderr and "pas un répertoire" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_syncs_from_the_embedded_simulator(run_kiosk, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    done = run_kiosk("params", "sync", "--json", config=config)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["url"].startswith("https://127.0.0.1:")


def test_a_dripping_server_meets_the_whole_answer_deadline(tmp_path: Path, server: ParamLpsServer) -> None:
    """Issue 14, point 9. Reproduction: a server sending one byte every 2 s (under the 20 s read timeout) kept
    the download (and the store lock) going past 90 s, each byte restarting the read timeout. Here: a byte
    every 0.3 s under a 3 s deadline; the answer would take minutes. No timing is asserted: a broken deadline
    shows as this test hanging."""
    config = _config(tmp_path, server, timeout_s=3.0)
    good = sync(config).sha256
    server.routes[DOCUMENT_PATH] = Route(200, sample_document(), {"Content-Type": "application/xml"}, drip_s=0.3)
    with pytest.raises(ParamsFetchError, match="délai"):
        sync(config)
    assert _current_sha(tmp_path) == good
