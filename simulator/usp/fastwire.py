"""Hand-rolled wire format for the hottest USP Record shapes: the Get request and the Record envelope.

# Strategy: pure Python beats building and walking upb message trees only where the layout is small
# and fixed. ``parse_get_record`` decodes the canonical Get request Record (the layout every protobuf
# serialiser produces for it: known fields, each once, in field-number order, valid UTF-8) and answers
# None for anything else, so callers take the protobuf path and results never differ from it.
# ``encode_no_session_context`` writes the Record around an already serialised Msg; its bytes are
# protobuf's (fields in field-number order, empty proto3 strings left out).
#
# Not here on purpose: a GetResp encoder. Written out (str code points as bytes, one latin-1 encode),
# the ten map entries of a DeviceInfo GetResp alone cost more Python time than upb's whole build and
# serialise. Nor could it match ``SerializeToString`` byte for byte: upb writes map entries in the
# order of its hash table, whose seed changes per process; only ``deterministic=True`` is reproducible.
"""

from __future__ import annotations

__all__ = [
    "GetRecord",
    "encode_no_session_context",
    "parse_get_record",
]


def _varint(n: int) -> str:
    if n < 0x80:
        return chr(n)
    out = []
    while n >= 0x80:
        out.append(chr((n & 0x7F) | 0x80))
        n >>= 7
    out.append(chr(n))
    return "".join(out)


def _raw(s: str) -> str:
    """The latin-1 view of the UTF-8 bytes of ``s`` (``s`` itself when it is ASCII)."""
    return s if s.isascii() else s.encode().decode("latin-1")


def _field(tag: str, raw: str) -> str:
    """One length-delimited field from an already latin-1 ``raw`` value."""
    n = len(raw)
    return f"{tag}{chr(n) if n < 0x80 else _varint(n)}{raw}"


def _record(version: str, to_id: str, from_id: str, payload: str) -> str:
    head = ""
    if version:
        head = _field("\n", _raw(version))
    if to_id:
        head += _field("\x12", _raw(to_id))
    if from_id:
        head += _field("\x1a", _raw(from_id))
    return head + _field(":", _field("\x12", payload) if payload else "")


def encode_no_session_context(version: str, to_id: str, from_id: str, payload: bytes) -> bytes:
    """Serialise a no_session_context Record around an already serialised Msg.

    Args:
        version: Record.version.
        to_id: the receiver's EndpointID.
        from_id: the sender's EndpointID.
        payload: the serialised usp.Msg (bytes).

    Returns:
        The bytes protobuf produces for the same Record.
    """
    return _record(version, to_id, from_id, payload.decode("latin-1")).encode("latin-1")


# --- decoding ---------------------------------------------------------------------------------------


class _NotCanonical(Exception):
    pass


def _length(d: bytes, i: int) -> tuple[int, int]:
    """A multi-byte varint length whose first byte is at ``i - 1`` (already known to have bit 7 set)."""
    n = d[i - 1] & 0x7F
    shift = 7
    while True:
        b = d[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7
        if shift > 28:
            raise _NotCanonical


GetRecord = tuple[str, str, str, str, tuple[str, ...], int, int, int]
"""``(version, to_id, from_id, msg_id, param_paths, max_depth, payload_start, payload_end)``."""


def _parse_get(d: bytes) -> GetRecord:
    end = len(d)
    i = 0
    strings = ["", "", ""]
    for slot, tag in enumerate((0x0A, 0x12, 0x1A)):  # version, to_id, from_id (absent when empty)
        if d[i] == tag:
            n = d[i + 1]
            i += 2
            if n & 0x80:
                n, i = _length(d, i)
            j = i + n
            if j > end:
                raise _NotCanonical
            strings[slot] = d[i:j].decode()
            i = j
    if d[i] != 0x3A:  # no_session_context (field 7), which must end the Record
        raise _NotCanonical
    n = d[i + 1]
    i += 2
    if n & 0x80:
        n, i = _length(d, i)
    if i + n != end or d[i] != 0x12:  # NoSessionContextRecord.payload (field 2), alone
        raise _NotCanonical
    n = d[i + 1]
    i += 2
    if n & 0x80:
        n, i = _length(d, i)
    payload_start = i
    if i + n != end or d[i] != 0x0A:  # Msg.header (field 1)
        raise _NotCanonical
    n = d[i + 1]
    i += 2
    if n & 0x80:
        n, i = _length(d, i)
    header_end = i + n
    msg_id = ""
    if i < header_end and d[i] == 0x0A:  # Header.msg_id
        n = d[i + 1]
        i += 2
        if n & 0x80:
            n, i = _length(d, i)
        j = i + n
        if j > header_end:
            raise _NotCanonical
        msg_id = d[i:j].decode()
        i = j
    if d[i] != 0x10 or d[i + 1] != 1 or i + 2 != header_end:  # Header.msg_type = GET, last
        raise _NotCanonical
    i = header_end
    for tag in (0x12, 0x0A, 0x0A):  # Msg.body, Body.request, Request.get: each the last field
        if d[i] != tag:
            raise _NotCanonical
        n = d[i + 1]
        i += 2
        if n & 0x80:
            n, i = _length(d, i)
        if i + n != end:
            raise _NotCanonical
    paths = []
    depth = 0
    while i < end:
        tag = d[i]
        if tag == 0x0A:  # Get.param_paths
            n = d[i + 1]
            i += 2
            if n & 0x80:
                n, i = _length(d, i)
            j = i + n
            if j > end:
                raise _NotCanonical
            paths.append(d[i:j].decode())
            i = j
        elif tag == 0x15 and i + 5 <= end:  # Get.max_depth, fixed32
            depth = int.from_bytes(d[i + 1:i + 5], "little")
            i += 5
        else:
            raise _NotCanonical
    return strings[0], strings[1], strings[2], msg_id, tuple(paths), depth, payload_start, end


def parse_get_record(data: object) -> GetRecord | None:
    """Decode a canonical no_session_context Record carrying a Get request, without protobuf.

    Args:
        data: the received bytes.

    Returns:
        ``(version, to_id, from_id, msg_id, param_paths, max_depth, payload_start, payload_end)``, the
        Msg being ``data[payload_start:payload_end]``; None when ``data`` is not bytes or not exactly
        that canonical layout (another message, other or repeated fields, invalid UTF-8, truncation):
        decode it with protobuf then.
    """
    if type(data) is not bytes:
        return None
    try:
        return _parse_get(data)
    except (_NotCanonical, IndexError, UnicodeDecodeError):
        return None
