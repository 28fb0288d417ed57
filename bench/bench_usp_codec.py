"""Benchmark the USP wire layer: encode+decode of a Get request Record and a 10-parameter GetResp Record.

Each case runs through the two-pass API (encode_msg + encode_no_session_context, decode_record +
decode_msg) and the single-pass fast path (encode_record_msg / *_record builders, decode_record_msg).

Prints one JSON object. Exits 1 unless protobuf runs on the upb backend (the pure-python backend is
about 10x slower and would silently skew every fleet measurement, architecture.md B11).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation

from simulator.usp import (
    DEFAULT_RECORD_VERSION,
    Get,
    GetResp,
    Msg,
    MsgType,
    RequestedPathResult,
    ResolvedPathResult,
    decode_msg,
    decode_record,
    decode_record_msg,
    encode_msg,
    encode_no_session_context,
    encode_record_msg,
    get_request,
    get_request_record,
    get_resp,
    get_resp_record,
)

AGENT = "os::012345-SIM00000001"
CTRL = "proto::controller-1"
PATH = "Device.DeviceInfo."
PARAMS = {
    "Manufacturer": "Simulated",
    "ManufacturerOUI": "012345",
    "ModelName": "SIM-1",
    "ProductClass": "Gateway",
    "SerialNumber": "SIM00000001",
    "HardwareVersion": "1.0",
    "SoftwareVersion": "1.0.3",
    "UpTime": "12345",
    "ProvisioningCode": "",
    "Description": "usp-simulator virtual agent",
}


def get_typed() -> object:
    """Controller builds a typed Get, agent decodes Record + Msg."""
    msg = Msg("g-17", MsgType.GET, Get(("Device.DeviceInfo.SoftwareVersion",)))
    data = encode_no_session_context(DEFAULT_RECORD_VERSION, AGENT, CTRL, encode_msg(msg))
    return decode_msg(decode_record(data).payload)


def get_builder() -> object:
    """Same with the get_request builder (no dataclass on the encode side)."""
    payload = get_request("g-17", ("Device.DeviceInfo.SoftwareVersion",))
    data = encode_no_session_context(DEFAULT_RECORD_VERSION, AGENT, CTRL, payload)
    return decode_msg(decode_record(data).payload)


def getresp_typed() -> object:
    """Agent builds a typed 10-parameter GetResp, controller decodes Record + Msg."""
    body = GetResp((RequestedPathResult(PATH, resolved_path_results=(ResolvedPathResult(PATH, PARAMS),)),))
    data = encode_no_session_context(
        DEFAULT_RECORD_VERSION, CTRL, AGENT, encode_msg(Msg("g-17", MsgType.GET_RESP, body))
    )
    return decode_msg(decode_record(data).payload)


RESULTS = (RequestedPathResult(PATH, resolved_path_results=(ResolvedPathResult(PATH, PARAMS),)),)


def getresp_builder() -> object:
    """Same with prebuilt results and the get_resp builder."""
    data = encode_no_session_context(DEFAULT_RECORD_VERSION, CTRL, AGENT, get_resp("g-17", RESULTS))
    return decode_msg(decode_record(data).payload)


def get_fast() -> object:
    """Fast path: typed Get encoded in one serialise, Record + Msg decoded in one parse."""
    msg = Msg("g-17", MsgType.GET, Get(("Device.DeviceInfo.SoftwareVersion",)))
    return decode_record_msg(encode_record_msg(DEFAULT_RECORD_VERSION, AGENT, CTRL, msg))[1]


def get_builder_fast() -> object:
    """Fast path with the get_request_record builder."""
    paths = ("Device.DeviceInfo.SoftwareVersion",)
    data = get_request_record(DEFAULT_RECORD_VERSION, AGENT, CTRL, "g-17", paths)
    return decode_record_msg(data)[1]


def getresp_fast() -> object:
    """Fast path: typed 10-parameter GetResp, one serialise, one parse."""
    body = GetResp((RequestedPathResult(PATH, resolved_path_results=(ResolvedPathResult(PATH, PARAMS),)),))
    data = encode_record_msg(DEFAULT_RECORD_VERSION, CTRL, AGENT, Msg("g-17", MsgType.GET_RESP, body))
    return decode_record_msg(data)[1]


def getresp_builder_fast() -> object:
    """Fast path with get_resp_record fed plain tuples/dicts (no response dataclasses on the encode side)."""
    data = get_resp_record(DEFAULT_RECORD_VERSION, CTRL, AGENT, "g-17", ((PATH, ((PATH, PARAMS),)),))
    return decode_record_msg(data)[1]


GETRESP_RECORD = get_resp_record(DEFAULT_RECORD_VERSION, CTRL, AGENT, "g-17", ((PATH, ((PATH, PARAMS),)),))
GET_RECORD = get_request_record(
    DEFAULT_RECORD_VERSION, AGENT, CTRL, "g-17", ("Device.DeviceInfo.SoftwareVersion",)
)


def getresp_encode_only() -> object:
    """Agent side alone: get_resp_record from plain tuples/dicts."""
    return get_resp_record(DEFAULT_RECORD_VERSION, CTRL, AGENT, "g-17", ((PATH, ((PATH, PARAMS),)),))


def getresp_decode_only() -> object:
    """Controller/probe side alone: decode_record_msg of the 10-parameter GetResp Record."""
    return decode_record_msg(GETRESP_RECORD)[1]


def get_decode_only() -> object:
    """Agent side alone: decode_record_msg of a canonical Get Record (fastwire, no protobuf)."""
    return decode_record_msg(GET_RECORD)[1]


def getresp_raw_pb() -> object:
    """Floor: the same GetResp Record with the generated protobuf classes only (no dataclasses)."""
    from simulator.usp._pb import usp_msg_1_4_pb2 as mpb
    from simulator.usp._pb import usp_record_1_4_pb2 as rpb

    m = mpb.Msg()
    m.header.msg_id = "g-17"
    m.header.msg_type = 2
    q = m.body.response.get_resp.req_path_results.add(requested_path=PATH)
    mp = q.resolved_path_results.add(resolved_path=PATH).result_params
    for k, v in PARAMS.items():
        mp[k] = v
    rec = rpb.Record(
        version="1.3",
        to_id=CTRL,
        from_id=AGENT,
        no_session_context=rpb.NoSessionContextRecord(payload=m.SerializeToString()),
    )
    r = rpb.Record.FromString(rec.SerializeToString())
    out = mpb.Msg.FromString(r.no_session_context.payload)
    h = out.header
    return h.msg_id, [
        [
            (rp.resolved_path, {k: rp.result_params[k] for k in rp.result_params})
            for rp in q.resolved_path_results
        ]
        for q in out.body.response.get_resp.req_path_results
    ]


def per_call_us(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Best of three ~1/3 s runs, in microseconds per call."""
    fn()
    n = 1000
    while True:  # calibrate to about seconds / 3 per run
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > 0.05:
            break
        n *= 4
    n = max(1, int(n * (seconds / 3) / dt))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return round(best * 1e6, 2)


def main() -> int:
    backend = api_implementation.Type()
    if backend != "upb":
        print(
            json.dumps({"error": f"protobuf backend is {backend!r}, not 'upb'", "protobuf": protobuf_version})
        )
        return 1
    assert get_typed() == get_builder()
    assert getresp_typed() == getresp_builder()
    assert get_typed() == get_fast() == get_builder_fast()
    assert getresp_typed() == getresp_fast() == getresp_builder_fast()
    report = {
        "protobuf": protobuf_version,
        "api_implementation": backend,
        "get_record_encode_decode_us": per_call_us(get_typed),
        "get_record_builder_encode_decode_us": per_call_us(get_builder),
        "getresp10_record_encode_decode_us": per_call_us(getresp_typed),
        "getresp10_record_builder_encode_decode_us": per_call_us(getresp_builder),
        "getresp10_record_raw_protobuf_floor_us": per_call_us(getresp_raw_pb),
        "fast_get_record_encode_decode_us": per_call_us(get_fast),
        "fast_get_record_builder_encode_decode_us": per_call_us(get_builder_fast),
        "fast_getresp10_record_encode_decode_us": per_call_us(getresp_fast),
        "fast_getresp10_record_builder_encode_decode_us": per_call_us(getresp_builder_fast),
        "get_record_decode_only_us": per_call_us(get_decode_only),
        "getresp10_record_encode_only_us": per_call_us(getresp_encode_only),
        "getresp10_record_decode_only_us": per_call_us(getresp_decode_only),
        "budget_us": 15,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
