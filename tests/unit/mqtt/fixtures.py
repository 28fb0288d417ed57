"""Hand-written byte-exact MQTT packets (MQTT 3.1.1 and 5.0 chapter 3), shared by the codec tests."""

from __future__ import annotations

from simulator.mqtt.packets import (
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PingReq,
    PingResp,
    PubAck,
    PubComp,
    Publish,
    PubRec,
    PubRel,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    Will,
)
from simulator.mqtt.properties import Properties


def h(*parts: str | bytes) -> bytes:
    """Join hex strings (spaces allowed) and raw bytes."""
    return b"".join(bytes.fromhex(p) if isinstance(p, str) else p for p in parts)


def pk(first: int, *body: str | bytes) -> bytes:
    """A packet with a computed (one-byte) Remaining Length: for hand-written invalid packets."""
    data = h(*body)
    assert len(data) < 128
    return bytes((first, len(data))) + data


USER_KV = h("26 0001", b"k", "0001", b"v")  # User Property k=v: 7 bytes

# (id, protocol version, packet, exact bytes)
FIXTURES: list[tuple[str, int, Packet, bytes]] = [
    (
        "connect-v4-minimal",
        4,
        Connect("abc", 4, clean_start=True, keep_alive=60),
        # 3.1.2: protocol name, level 4, flags 0x02 (Clean Session), keep alive 60; payload client id.
        h("10 0f", "0004", b"MQTT", "04 02 003c", "0003", b"abc"),
    ),
    (
        "connect-v5-minimal",
        5,
        Connect("abc", 5, clean_start=True, keep_alive=60),
        # 3.1.2.11: an empty property block (length 0) after the keep alive.
        h("10 10", "0004", b"MQTT", "05 02 003c 00", "0003", b"abc"),
    ),
    (
        "connect-v4-full",
        4,
        Connect("c", 4, False, 10, "u", b"p", Will("w", b"x", 1, True)),
        # flags: user 0x80 | password 0x40 | will retain 0x20 | will QoS 1 0x08 | will 0x04 = 0xEC.
        h("10 19", "0004", b"MQTT", "04 ec 000a", "0001", b"c", "0001", b"w", "0001", b"x")
        + h("0001", b"u", "0001", b"p"),
    ),
    (
        "connect-v5-full",
        5,
        Connect(
            "c",
            5,
            True,
            10,
            "u",
            b"p",
            Will("w", b"x", 1, True, Properties(will_delay_interval=5)),
            Properties(
                session_expiry_interval=120,
                receive_maximum=10,
                request_response_information=1,
                user_properties=(("usp-endpoint-id", "e"),),
            ),
        ),
        # Properties in identifier order: 0x11 (5 bytes), 0x19 (2), 0x21 (3), 0x26 (21) = 31.
        h("10 3f", "0004", b"MQTT", "05 ee 000a", "1f", "11 00000078", "19 01", "21 000a")
        + h("26 000f", b"usp-endpoint-id", "0001", b"e")
        + h("0001", b"c", "05 18 00000005", "0001", b"w", "0001", b"x", "0001", b"u", "0001", b"p"),
    ),
    ("connack-v4-accepted", 4, ConnAck(False, 0), h("20 02 00 00")),
    ("connack-v4-session-present", 4, ConnAck(True, 0), h("20 02 01 00")),
    ("connack-v4-not-authorized", 4, ConnAck(False, 5), h("20 02 00 05")),
    ("connack-v5-accepted", 5, ConnAck(False, 0), h("20 03 00 00 00")),
    ("connack-v5-refused", 5, ConnAck(False, 0x87), h("20 03 00 87 00")),
    (
        "connack-v5-properties",
        5,
        ConnAck(
            False,
            0,
            Properties(
                assigned_client_identifier="id",
                server_keep_alive=30,
                response_information="r",
                receive_maximum=20,
                topic_alias_maximum=10,
                maximum_qos=1,
                retain_available=0,
                user_properties=(("subscribe-topic", "t"),),
                maximum_packet_size=1024,
            ),
        ),
        h("20 33 00 00 30", "12 0002", b"id", "13 001e", "1a 0001", b"r", "21 0014", "22 000a", "24 01")
        + h("25 00", "26 000f", b"subscribe-topic", "0001", b"t", "27 00000400"),
    ),
    ("publish-v4-qos0", 4, Publish("a/b", b"hi"), h("30 07 0003", b"a/b", b"hi")),
    (
        "publish-v4-qos1-dup-retain",
        4,
        Publish("a/b", b"hi", 1, True, True, 10),
        h("3b 09 0003", b"a/b", "000a", b"hi"),
    ),
    ("publish-v5-qos0", 5, Publish("a/b", b"hi"), h("30 08 0003", b"a/b", "00", b"hi")),
    (
        "publish-v5-qos1-properties",
        5,
        Publish(
            "a/b",
            b"x",
            1,
            packet_id=1,
            properties=Properties(
                content_type="usp.msg",
                response_topic="r/t",
                correlation_data=b"c",
                user_properties=(("k", "v"),),
            ),
        ),
        h("32 24 0003", b"a/b", "0001 1b", "03 0007", b"usp.msg", "08 0003", b"r/t", "09 0001", b"c")
        + USER_KV
        + b"x",
    ),
    (
        "publish-v5-alias-expiry-subid",
        5,
        Publish(
            "t",
            b"",
            properties=Properties(
                payload_format_indicator=1,
                message_expiry_interval=60,
                subscription_identifiers=(1, 200),
                topic_alias=3,
            ),
        ),
        h("30 13 0001", b"t", "0f 01 01 02 0000003c 0b 01 0b c801 23 0003"),
    ),
    ("puback-v4", 4, PubAck(10), h("40 02 000a")),
    ("puback-v5-success-short", 5, PubAck(10), h("40 02 000a")),
    ("puback-v5-reason", 5, PubAck(10, 0x10), h("40 03 000a 10")),
    (
        "puback-v5-reason-string",
        5,
        PubAck(10, 0x10, Properties(reason_string="no")),
        h("40 09 000a 10 05 1f 0002", b"no"),
    ),
    ("pubrec-v5", 5, PubRec(10), h("50 02 000a")),
    ("pubrel-v4", 4, PubRel(10), h("62 02 000a")),
    ("pubrel-v5-not-found", 5, PubRel(10, 0x92), h("62 03 000a 92")),
    ("pubcomp-v4", 4, PubComp(10), h("70 02 000a")),
    ("subscribe-v4", 4, Subscribe(1, (Subscription("a/#", 1),)), h("82 08 0001 0003", b"a/#", "01")),
    (
        "subscribe-v5-options",
        5,
        Subscribe(1, (Subscription("a/#", 1, True, True, 2),), Properties(user_properties=(("k", "v"),))),
        # options: QoS 1 | No Local 0x04 | Retain As Published 0x08 | Retain Handling 2 << 4 = 0x2d.
        h("82 10 0001 07") + USER_KV + h("0003", b"a/#", "2d"),
    ),
    (
        "subscribe-v5-two-filters-subid",
        5,
        Subscribe(2, (Subscription("x"), Subscription("y", 1)), Properties(subscription_identifiers=(7,))),
        h("82 0d 0002 02 0b 07 0001", b"x", "00 0001", b"y", "01"),
    ),
    ("suback-v4", 4, SubAck(1, (1,)), h("90 03 0001 01")),
    ("suback-v4-failure", 4, SubAck(1, (0, 0x80)), h("90 04 0001 00 80")),
    ("suback-v5", 5, SubAck(1, (0, 1)), h("90 05 0001 00 00 01")),
    ("unsubscribe-v4", 4, Unsubscribe(2, ("a",)), h("a2 05 0002 0001", b"a")),
    ("unsubscribe-v5", 5, Unsubscribe(2, ("a", "b")), h("a2 09 0002 00 0001", b"a", "0001", b"b")),
    ("unsuback-v4", 4, UnsubAck(2), h("b0 02 0002")),
    ("unsuback-v5", 5, UnsubAck(2, (0x11,)), h("b0 04 0002 00 11")),
    ("pingreq", 5, PingReq(), h("c0 00")),
    ("pingresp", 4, PingResp(), h("d0 00")),
    ("disconnect-v4", 4, Disconnect(), h("e0 00")),
    ("disconnect-v5-normal", 5, Disconnect(), h("e0 00")),
    ("disconnect-v5-malformed", 5, Disconnect(0x81), h("e0 01 81")),
    (
        "disconnect-v5-reason-string",
        5,
        Disconnect(0x8B, Properties(reason_string="bye")),
        h("e0 08 8b 06 1f 0003", b"bye"),
    ),
    ("auth-v5-success", 5, Auth(), h("f0 00")),
    (
        "auth-v5-continue",
        5,
        Auth(0x18, Properties(authentication_method="m")),
        h("f0 06 18 04 15 0001", b"m"),
    ),
]
