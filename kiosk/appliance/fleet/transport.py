"""HTTPS for the TUF client, with every bound explicit: sizes, timeouts, a whole-download deadline, no redirects.

python-tuf's own fetcher trusts only the system store and has no overall deadline: a server dripping one byte
every few seconds would hold `kiosk sync` for ever. This one takes the provisioned CA bundle, refuses redirects
(the repository is static), stops any download past its deadline, and honours `https_proxy` / `no_proxy`
(hospital networks often require a proxy), and never decompresses. Sizes are bounded by ngclient
(`max_length` of each download, counted on what arrives).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from tuf.api import exceptions
from tuf.ngclient import FetcherInterface, UpdaterConfig

__all__ = ["BoundedFetcher", "SyncLimits"]


@dataclass(frozen=True)
class SyncLimits:
    """Upper bounds for one sync; a response past any of them is refused, never truncated and used."""

    root_max_bytes: int = 512_000  # bytes, each N.root.json
    timestamp_max_bytes: int = 16_384  # bytes
    snapshot_max_bytes: int = 1_000_000  # bytes (when timestamp does not state its length)
    targets_max_bytes: int = 4_000_000  # bytes (when snapshot does not state its length): ~10 000 kiosks
    layer_max_bytes: int = 256_000  # bytes, each configuration layer (also checked against the signed length)
    max_root_rotations: int = 32  # root versions followed in one sync
    timeout_s: float = 20.0  # seconds, connection and between bytes
    download_deadline_s: float = 120.0  # seconds, one whole file
    chunk_bytes: int = 16_384  # bytes read at a time

    def updater_config(self, user_agent: str) -> UpdaterConfig:
        return UpdaterConfig(
            max_root_rotations=self.max_root_rotations,
            max_delegations=1,  # the kiosk's repository has no delegated roles
            root_max_length=self.root_max_bytes,
            timestamp_max_length=self.timestamp_max_bytes,
            snapshot_max_length=self.snapshot_max_bytes,
            targets_max_length=self.targets_max_bytes,
            app_user_agent=user_agent,
        )


class BoundedFetcher(FetcherInterface):
    """urllib3 with the provisioned trust anchors and the bounds of `SyncLimits`."""

    def __init__(self, limits: SyncLimits, ca_bundle: str = "", user_agent: str = "kiosk") -> None:
        self._limits = limits
        common: dict[str, Any] = {
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": ca_bundle or None,
            "headers": {"User-Agent": user_agent},
            "retries": urllib3.Retry(total=2, connect=2, read=0, redirect=0, status=0, raise_on_redirect=True),
            "timeout": urllib3.Timeout(connect=limits.timeout_s, read=limits.timeout_s),
        }
        self._direct = urllib3.PoolManager(**common)
        proxy = urllib.request.getproxies().get("https")
        self._proxied = urllib3.ProxyManager(proxy, **common) if proxy else None

    def _pool(self, url: str) -> urllib3.PoolManager:
        host = urlsplit(url).hostname or ""
        if self._proxied is not None and not urllib.request.proxy_bypass(host):
            return self._proxied
        return self._direct

    def _fetch(self, url: str) -> Iterator[bytes]:
        deadline = time.monotonic() + self._limits.download_deadline_s
        try:
            # no Accept-Encoding is sent, so bytes are taken as they come: a gzip bomb is just a hash mismatch
            response = self._pool(url).request("GET", url, preload_content=False, redirect=False,
                                               decode_content=False)
        except urllib3.exceptions.MaxRetryError as e:
            # NewConnectionError derives from ConnectTimeoutError in urllib3 2: a refusal is not slowness
            slow = not isinstance(e.reason, urllib3.exceptions.NewConnectionError)
            if slow and isinstance(e.reason, urllib3.exceptions.TimeoutError):
                raise exceptions.SlowRetrievalError(f"{url}: délai dépassé") from e
            raise exceptions.DownloadError(f"{url}: {e.reason}") from e
        except urllib3.exceptions.HTTPError as e:
            raise exceptions.DownloadError(f"{url}: {e}") from e
        if response.status >= 300:
            response.release_conn()
            raise exceptions.DownloadHTTPError(f"HTTP {response.status} pour {url}", response.status)
        return self._chunks(response, url, deadline)

    def _chunks(self, response: urllib3.BaseHTTPResponse, url: str, deadline: float) -> Iterator[bytes]:
        try:
            while chunk := response.read1(self._limits.chunk_bytes):  # what arrived, not a full chunk's wait
                if time.monotonic() > deadline:
                    raise exceptions.SlowRetrievalError(
                        f"{url}: téléchargement plus long que {self._limits.download_deadline_s:.0f} s")
                yield chunk
        except urllib3.exceptions.TimeoutError as e:
            raise exceptions.SlowRetrievalError(f"{url}: {e}") from e
        except urllib3.exceptions.HTTPError as e:
            raise exceptions.DownloadError(f"{url}: {e}") from e
        finally:
            response.release_conn()
