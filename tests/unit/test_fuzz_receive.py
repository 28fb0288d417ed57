"""Fuzz the whole receive path with hypothesis (issue 8): MQTT bytes -> MqttClient -> Record -> Msg -> paths.

Properties, for every input:
* nothing raises: neither the sans-I/O MQTT client (faults become ``ProtocolViolation`` events) nor the
  agent (strict mode re-raises any unexpected exception, which fails the property);
* the agent never answers a Record it must drop (usp-protocol.md 1.3/1.4, R-MTP.5): undecodable
  Record, to_id not ours, from_id empty/ours/unknown, undecodable Msg;
* memory does not grow over many iterations (tracemalloc).

The longer coverage-guided run is bench/fuzz_atheris.py.
"""

from __future__ import annotations

import contextlib
import gc
import random
import tracemalloc

from helpers import AGENT_ID, CONTROLLER_ID, AgentPair
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.agent.actions import Send
from simulator.mqtt import MessageReceived, MqttClient, MqttClientSettings, ProtocolViolation
from simulator.mqtt.packets import ConnAck, Publish
from simulator.mqtt.properties import Properties
from simulator.mqtt.wire import encode_packet
from simulator.usp._pb import usp_msg_1_4_pb2 as pb_msg
from simulator.usp.errors import RecordNotParsedError, UspError
from simulator.usp.messages import MessageDecodeError, Msg, decode_msg, encode_msg
from simulator.usp.paths import parse_path
from simulator.usp.records import RecordKind, decode_record, encode_no_session_context
from simulator.usp.requests import Delete, Get, GetInstances, GetSupportedDM

PAIR = AgentPair()  # strict: any unexpected exception inside the agent fails the property
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

IDS = st.sampled_from([AGENT_ID, CONTROLLER_ID, "", "os::other", "proto::intruder", AGENT_ID + "x"])
PATH_CHARS = st.sampled_from(list("Device.LocalAgent.Subscription.*[]=!<>&|\"'{}1234567890#+-_ %\x00\u00e9"))
PATHS = st.one_of(
    st.text(PATH_CHARS, max_size=80),
    st.builds(
        lambda a, b: f"Device.{a}.{b}", st.text(PATH_CHARS, max_size=20), st.text(PATH_CHARS, max_size=20)
    ),
    st.sampled_from(
        ["Device.", "Device.LocalAgent.Subscription.*.", "Device.LocalAgent.Controller.1.EndpointID"]
    ),
)


def must_drop(data: bytes) -> bool:
    """The oracle: True when the agent must not answer ``data`` at all (usp-protocol.md 1.4 steps 1-5)."""
    try:
        record = decode_record(data)
    except RecordNotParsedError:
        return True
    if record.to_id != AGENT_ID or not record.from_id or record.from_id == AGENT_ID:
        return True
    if record.from_id != CONTROLLER_ID:
        return True  # not a Controller row (minimal.yaml has proto::controller only)
    if record.kind is RecordKind.NO_SESSION_CONTEXT and record.payload_security == 0:
        if not record.payload:
            return True
        try:
            msg = decode_msg(record.payload)
        except MessageDecodeError:
            return True
        return not msg.msg_id
    return record.kind in (RecordKind.NONE, RecordKind.DISCONNECT) or record.kind.name.endswith("CONNECT")


def feed(data: bytes) -> list[Send]:
    sends = [a for a in PAIR.agent.receive(data, PAIR.now, "usp/controller/reply") if isinstance(a, Send)]
    if must_drop(data):
        assert not sends, f"answered a Record it must drop: {data[:80]!r}"
    return sends


# -- USP Records -----------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_record_random_bytes(data: bytes) -> None:
    feed(data)


@FUZZ
@given(IDS, IDS, st.binary(max_size=200), st.sampled_from(["1.3", "1.4", "", "9.9", "\u00e9"]))
def test_fuzz_record_fields_with_random_payload(
    to_id: str, from_id: str, payload: bytes, version: str
) -> None:
    feed(encode_no_session_context(version, to_id, from_id, payload))


@FUZZ
@given(
    IDS,
    IDS,
    st.lists(PATHS, min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 255)), max_size=6),
    st.integers(0, 400),
)
def test_fuzz_record_mutations(
    to_id: str, from_id: str, paths: list[str], flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(
        encode_no_session_context("1.3", to_id, from_id, encode_msg(Msg.of("f-1", Get(tuple(paths)))))
    )
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    feed(bytes(data[: max(cut, 1)] if cut < len(data) else data))


# -- USP Msgs --------------------------------------------------------------------------------------

_BODY_FIELDS = ("get", "set", "add", "delete", "operate", "notify", "get_supported_dm", "get_instances",
                "get_supported_protocol", "register", "deregister")  # fmt: skip


@FUZZ
@given(
    st.text(max_size=20),
    st.integers(-5, 40),
    st.sampled_from(["request", "response", "error", "none"]),
    st.sampled_from(_BODY_FIELDS),
    st.lists(PATHS, max_size=3),
    st.binary(max_size=40),
)
def test_fuzz_msg_envelopes(
    msg_id: str, msg_type: int, kind: str, field: str, paths: list[str], tail: bytes
) -> None:
    m = pb_msg.Msg()
    m.header.msg_id = msg_id
    m.header.msg_type = msg_type  # type: ignore[assignment]  # open enum: unknown values are kept
    if kind == "request":
        sub = getattr(m.body.request, field)
        sub.SetInParent()
        for name in ("param_paths", "obj_paths", "obj_paths"):
            if hasattr(sub, name):
                getattr(sub, name).extend(paths)
                break
    elif kind == "response":
        m.body.response.get_resp.SetInParent()
    elif kind == "error":
        m.body.error.err_code = 7000 + len(paths)
    payload = m.SerializeToString() + (tail if len(tail) % 3 == 0 else b"")
    feed(encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, payload))


# -- path strings ----------------------------------------------------------------------------------


@FUZZ
@given(st.lists(PATHS, min_size=1, max_size=4), st.integers(0, 3))
def test_fuzz_paths_every_request_type_answers_per_path(paths: list[str], which: int) -> None:
    """Random path strings: the parser raises only its own error type; the agent answers every request."""
    for p in paths:
        with contextlib.suppress(UspError):  # invalid syntax / too long: the agent answers per path
            parse_path(p)
    body = (Get(tuple(paths)), GetInstances(tuple(paths), False), GetSupportedDM(tuple(paths)),
            Delete(True, tuple(paths)))[which]  # fmt: skip
    msg, record = PAIR.controller.request(body)
    sends = feed(record)
    assert len(sends) == 1
    _, reply = PAIR.controller.decode(sends[0].record)
    assert reply.msg_id == msg.msg_id


# -- MQTT packets ----------------------------------------------------------------------------------


def _connected(version: int) -> MqttClient:
    client = MqttClient(MqttClientSettings(client_id="agent", protocol_version=version))
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(encode_packet(ConnAck(), version), 0.0)
    return client


@FUZZ
@given(st.sampled_from([4, 5]), st.lists(st.binary(max_size=80), max_size=6))
def test_fuzz_mqtt_bytes_never_raise(version: int, chunks: list[bytes]) -> None:
    """Arbitrary bytes from the broker: events or a ProtocolViolation, never an exception."""
    client = _connected(version)
    for chunk in chunks:
        for event in client.receive_data(chunk, 1.0):
            if isinstance(event, ProtocolViolation):
                return
        client.data_to_send()


@FUZZ
@given(
    st.sampled_from([4, 5]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
        lambda t: "+" not in t and "#" not in t and "\x00" not in t
    ),
    # U+0000 is not allowed in an MQTT UTF-8 string (MQTT 5 1.5.4): the encoder rightly refuses it
    st.one_of(
        st.none(),
        st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30),
    ),
    st.one_of(st.none(), st.sampled_from(["usp.msg", "text/plain", ""])),
    st.one_of(st.binary(max_size=200), st.builds(lambda p: encode_msg(Msg.of("m", Get((p,)))), PATHS)),
    st.booleans(),
)
def test_fuzz_mqtt_publish_into_agent(
    version: int, topic: str, response_topic: str | None, content_type: str | None, payload: bytes, wrap: bool
) -> None:
    """A PUBLISH with arbitrary topic, properties and payload travels MQTT -> agent without raising."""
    client = _connected(version)
    if wrap:
        payload = encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, payload)
    props = (
        Properties(response_topic=response_topic or None, content_type=content_type)
        if version == 5
        else Properties()
    )
    data = encode_packet(Publish(topic, payload, 0, properties=props), version)
    cut = len(data) - (len(payload) % 5 if not wrap else 0)
    for event in client.receive_data(data[:cut], 1.0):
        if isinstance(event, MessageReceived):
            feed(event.publish.payload)


# -- memory ----------------------------------------------------------------------------------------


def test_fuzz_receive_path_memory_is_bounded() -> None:
    """8,000 random and mutated Records: traced memory grows < 256 KiB from the first half to the second."""
    pair = AgentPair()
    rng = random.Random(8)
    seeds = [
        encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, encode_msg(Msg.of(f"s{i}", Get((p,)))))
        for i, p in enumerate(["Device.", "Device.LocalAgent.", "Device.DeviceInfo.", "Device.X.[a==b]."])
    ]

    def one() -> None:
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(0, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = bytearray(rng.randbytes(rng.randint(0, 120)))
        pair.agent.receive(bytes(data), pair.now, "usp/controller/reply")

    for _ in range(2000):  # warm caches (lru-cached path parser, interned strings)
        one()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(3000):
            one()
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        for _ in range(3000):
            one()
        gc.collect()
        second = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert second - first < 256 * 1024, (first, second)
