"""MQTT 3.1.1 ``/reply-to=`` topic convention (TR-369 7.1 PUBLISH) and WebSocket ``eid`` encoding (7.2)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.transports.mqtt import encode_reply_to_topic, parse_reply_to_topic
from simulator.transports.websocket import build_agent_uri, encode_eid


def test_encode_reply_to_matches_spec_example() -> None:
    """usp-protocol.md 7.1: ``usp/agents/os::012345-SIM0001/reply-to=usp%2Fcontrollers%2Fctrl1``."""
    topic = encode_reply_to_topic("usp/agents/os::012345-SIM0001", "usp/controllers/ctrl1")
    assert topic == "usp/agents/os::012345-SIM0001/reply-to=usp%2Fcontrollers%2Fctrl1"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("usp/agent/reply-to=usp%2Fctrl", ("usp/agent", "usp/ctrl")),
        ("usp/agent/reply-to=usp%2fctrl", ("usp/agent", "usp/ctrl")),  # lower-case hex too
        ("usp/agent", ("usp/agent", None)),
        ("usp/agent/reply-to=", ("usp/agent", None)),
        ("a/reply-to=x/b/reply-to=c%2Fd", ("a/reply-to=x/b", "c/d")),  # the last marker wins
        ("reply-to=x", ("reply-to=x", None)),  # the marker needs its leading "/"
    ],
)
def test_parse_reply_to_topic(topic: str, expected: tuple[str, str | None]) -> None:
    assert parse_reply_to_topic(topic) == expected


TOPIC_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "/:-_.=", min_size=1, max_size=40)


@given(destination=TOPIC_TEXT, reply_to=TOPIC_TEXT)
def test_reply_to_round_trip(destination: str, reply_to: str) -> None:
    topic = encode_reply_to_topic(destination, reply_to)
    assert "/" not in topic[len(destination) + len("/reply-to=") :]
    assert parse_reply_to_topic(topic) == (destination, reply_to)


@pytest.mark.parametrize(
    ("eid", "encoded"),
    [
        ("os::012345-SIM0001", "os%3A%3A012345-SIM0001"),
        ("proto::a%b", "proto%3A%3Aa%25b"),  # "%" -> "%25" (R-WS.10c)
        ("A-Za.z_0~9", "A-Za.z_0~9"),  # unreserved characters stay
        ("a/b?c&d=e f", "a%2Fb%3Fc%26d%3De%20f"),
        ("é", "%C3%A9"),
    ],
)
def test_encode_eid_percent_encodes_outside_unreserved(eid: str, encoded: str) -> None:
    assert encode_eid(eid) == encoded


def test_build_agent_uri_joins_query_with_ampersand() -> None:
    assert build_agent_uri("ws://h:8080/ws/agent", "os::1") == "ws://h:8080/ws/agent?eid=os%3A%3A1"
    assert build_agent_uri("wss://h/usp?x=1", "e") == "wss://h/usp?x=1&eid=e"
    assert build_agent_uri("ws://h:8080", "e") == "ws://h:8080/?eid=e"


@given(eid=st.text(min_size=1, max_size=30))
def test_encode_eid_output_is_unreserved_or_escape(eid: str) -> None:
    from urllib.parse import unquote

    encoded = encode_eid(eid)
    assert set(encoded) <= set(string.ascii_letters + string.digits + "-._~%")
    assert unquote(encoded) == eid
