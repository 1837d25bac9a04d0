"""Configuration layers and how they stack: fleet defaults < site < device < local technician overrides.

Pure functions on the dicts tomllib gives (no I/O), shared by the kiosk side (`kiosk sync`) and the publisher
(`kiosk fleet`), so both merge exactly alike. Tables merge key by key; a list or a value in a higher layer
replaces the lower one whole (a site that lists `[[readers]]` replaces the fleet's readers, it does not append).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "DEVICE_BOUND",
    "FLEET_LAYERS",
    "LayerError",
    "changed_values",
    "flatten",
    "layer_targets",
    "merge",
    "parse_layer",
]

FLEET_LAYERS = ("defaults", "site", "device")

# Sections that belong to the kiosk, never to the fleet: they say where and as whom the kiosk syncs, so a fleet
# layer that changed them could strand kiosks (a wrong URL or `enabled = false` would stop every later update).
DEVICE_BOUND = frozenset({"sync"})


class LayerError(ValueError):
    """A layer that is not a TOML table, or that sets what a fleet layer may not."""


def layer_targets(site_id: str, device_id: str) -> list[tuple[str, str]]:
    """(layer name, TUF target path) in precedence order, lowest first."""
    return [
        ("defaults", "defaults.toml"),
        ("site", f"sites/{site_id}/site.toml"),
        ("device", f"sites/{site_id}/devices/{device_id}.toml"),
    ]


def parse_layer(name: str, data: bytes) -> dict[str, Any]:
    """Decode one layer file; a fleet layer may not carry device-bound sections."""
    try:
        layer = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise LayerError(f"couche {name} illisible : {e}") from e
    if name in FLEET_LAYERS:
        bound = sorted(DEVICE_BOUND & layer.keys())
        if bound:
            raise LayerError(f"couche {name} : la section [{', '.join(bound)}] est propre à chaque poste, "
                             "elle ne peut venir de la flotte")
    return layer


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Stack layers, lowest precedence first; the inputs are not modified."""
    out: dict[str, Any] = {}
    for layer in layers:
        _merge_into(out, layer)
    return out


def _merge_into(base: dict[str, Any], over: dict[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge_into(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def flatten(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) for every leaf; lists are leaves, like in `merge`."""
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from flatten(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def changed_values(
    before: dict[str, Any], after: dict[str, Any], skip: Iterable[str] = ()
) -> tuple[dict[str, Any], list[str]]:
    """What a hand edit changed: (a layer holding every added or changed value, dotted keys that were removed).

    Used to carry a technician's `kiosk config set` on the merged file over into the local layer, so that the
    next sync keeps it. Removals cannot be expressed as an override: they are reported instead.
    """
    skipped = set(skip)
    old = {k: v for k, v in flatten(before) if k[0] not in skipped}
    new = {k: v for k, v in flatten(after) if k[0] not in skipped}
    layer: dict[str, Any] = {}
    for path, value in new.items():
        if value == {}:  # an emptied table says nothing by itself; its keys show up as removed
            continue
        if old.get(path, _ABSENT) != value:
            node = layer
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = copy.deepcopy(value)
    replaced = {p for p, v in new.items() if v != {}}  # a table turned into a value: reported as changed
    removed = sorted(".".join(p) for p in old if p not in new and not any(p[:i] in replaced for i in range(1, len(p))))
    return layer, removed


_ABSENT = object()
