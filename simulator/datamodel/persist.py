"""Persistent agent state as bytes: encode / decode one agent's store difference (pure, no I/O).

# Strategy: a record is the JSON (orjson) of ``InstanceStore.export_diff()`` plus the profile name and a
# format number. Node ids are NOT written (they depend on the profile's load order); ``{i}`` paths are, so a
# profile that gained parameters still loads an old record, and entries whose node disappeared are
# skipped and counted. What a restart must not bring back (usp-protocol.md 5.1 and 6.1.7) is removed after
# loading by ``drop_volatile``: Subscription rows with Persistent=false and every Request row, exactly as a
# reboot removes them. The fleet's state backend (``simulator.fleet.state``) stores the bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

from simulator.datamodel.schema import ObjectNode, ParamNode
from simulator.datamodel.store import InstanceStore

__all__ = ["FORMAT", "StateFormatError", "decode_into", "drop_volatile", "encode"]

FORMAT = 1
"""Version of the record layout; a record with another number is refused (``StateFormatError``)."""

_SUBSCRIPTION = "Device.LocalAgent.Subscription.{i}."
_REQUEST = "Device.LocalAgent.Request.{i}."


class StateFormatError(ValueError):
    """A stored record cannot be read (corrupt, other format, other profile)."""


def encode(store: InstanceStore) -> bytes | None:
    """The agent's persistent record, or None when it holds nothing beyond its profile."""
    diff = store.export_diff()
    if diff is None:
        return None
    data: dict[str, Any] = {"format": FORMAT, "profile": store.schema.name, **diff}
    return orjson.dumps(data)


def decode_into(store: InstanceStore, record: bytes) -> int:
    """Load ``record`` (from ``encode``) into a fresh store, then drop what must not survive a restart.

    Returns:
        Entries skipped because the profile no longer has their node.

    Raises:
        StateFormatError: not a record of this format and profile.
    """
    try:
        data = orjson.loads(record)
    except orjson.JSONDecodeError as exc:
        msg = f"corrupt state record: {exc}"
        raise StateFormatError(msg) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        msg = f"state record format {data.get('format') if isinstance(data, dict) else '?'!r} != {FORMAT}"
        raise StateFormatError(msg)
    if data.get("profile") != store.schema.name:
        msg = f"state record of profile {data.get('profile')!r}, agent uses {store.schema.name!r}"
        raise StateFormatError(msg)
    skipped = store.apply_diff(data)
    drop_volatile(store)
    return skipped


def drop_volatile(store: InstanceStore) -> None:
    """Remove non-persistent Subscription rows and every Request row (what a reboot removes)."""
    schema = store.schema
    subs = schema.lookup(_SUBSCRIPTION)
    if isinstance(subs, ObjectNode):
        flag = subs.params.get("Persistent")
        for number in store.instances(subs, ()):
            if not isinstance(flag, ParamNode) or store.read(flag, (number,), 0.0) not in ("true", "1"):
                store.remove(subs, (number,))
    requests = schema.lookup(_REQUEST)
    if isinstance(requests, ObjectNode):
        for number in store.instances(requests, ()):
            store.remove(requests, (number,))
