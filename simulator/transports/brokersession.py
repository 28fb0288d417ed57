"""The broker side of one client connection of ``EmbeddedBroker``: framing, CONNECT, routing hooks."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from simulator.mqtt import MqttProtocolError, Properties, ReasonCode, Subscription, Will
from simulator.mqtt.codec import PacketType
from simulator.mqtt.packets import (
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PingReq,
    PubAck,
    PubComp,
    Publish,
    PubRec,
    PubRel,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
)
from simulator.mqtt.properties import EMPTY_PROPERTIES, encode_properties
from simulator.mqtt.wire import decode_packet, encode_packet, encode_publish
from simulator.transports.topics import is_valid_filter, topic_matches

if TYPE_CHECKING:
    from simulator.transports.broker import EmbeddedBroker

__all__ = ["BrokerSession", "Message"]

# the broker's logger: sessions log under the name callers configure for the broker
logger = logging.getLogger("simulator.transports.broker")

_MAX_PACKET = 16 * 1024 * 1024 + 5
_PINGRESP = b"\xd0\x00"


@dataclass(slots=True)
class Message:
    """A message being routed, with lazily encoded forms shared across subscribers."""

    publish: Publish
    raw: bytes | None  # the original packet bytes, reusable for QoS 0 / no-retain forwarding
    raw_version: int
    cache: dict[int, bytes] = field(default_factory=dict)  # version -> QoS 0 bytes


class BrokerSession(asyncio.Protocol):
    """One client connection on the broker side."""

    __slots__ = (
        "broker",
        "client_id",
        "closing",
        "keep_alive",
        "last_seen",
        "next_pid",
        "out",
        "out_size",
        "pending",
        "subscriptions",
        "timer",
        "transport",
        "version",
        "will",
    )

    def __init__(self, broker: EmbeddedBroker) -> None:
        self.broker = broker
        self.transport: asyncio.Transport | None = None
        self.version = 0  # 0 until CONNECT
        self.client_id = ""
        self.pending = b""
        self.out: list[bytes] = []
        self.out_size = 0
        self.keep_alive = 0
        self.last_seen = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.will: Will | None = None
        self.next_pid = 0
        self.subscriptions: dict[str, Subscription] = {}
        self.closing = False

    # ------------------------------------------------------------------------------------ output

    def queue(self, data: bytes) -> None:
        if self.closing or self.transport is None:
            return
        if not self.out:
            self.broker._mark_dirty(self)
        self.out.append(data)
        self.out_size += len(data)

    def flush(self) -> None:
        out = self.out
        if not out:
            return
        self.out = []
        self.out_size = 0
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def deliver(self, message: Message, sub: Subscription) -> None:
        transport = self.transport
        if transport is None or self.closing:
            return
        if self.out_size + transport.get_write_buffer_size() > self.broker.max_buffer:
            self.broker.stats.dropped += 1
            return
        publish = message.publish
        qos = min(publish.qos, sub.qos, 1)
        retain = publish.retain and sub.retain_as_published
        version = self.version
        if qos == 0 and not retain:
            data = message.cache.get(version)
            if data is None:
                if message.raw is not None and message.raw_version == version:
                    data = message.raw
                else:
                    data = self._encode(publish, 0, False, None)
                message.cache[version] = data
        else:
            data = self._encode(publish, qos, retain, self._pid() if qos else None)
        self.broker.stats.messages_out += 1
        self.queue(data)

    def _encode(self, publish: Publish, qos: int, retain: bool, pid: int | None) -> bytes:
        block = None
        if self.version == 5:
            props = publish.properties
            block = b"\x00" if props is EMPTY_PROPERTIES else encode_properties(props, PacketType.PUBLISH)
        return encode_publish(publish.topic, publish.payload, qos, retain, False, pid, block)

    def _pid(self) -> int:
        self.next_pid = self.next_pid % 65535 + 1
        return self.next_pid

    def send_packet(self, packet: Packet) -> None:
        self.queue(encode_packet(packet, self.version or 4))

    # ------------------------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.transport = transport
        self.broker._sessions.add(self)
        loop = self.broker._loop
        assert loop is not None
        self.last_seen = loop.time()
        # A client must send CONNECT promptly; reuse the keep-alive timer for that deadline.
        self.timer = loop.call_later(10.0, self._on_timer)

    def data_received(self, data: bytes) -> None:
        loop = self.broker._loop
        assert loop is not None
        self.last_seen = loop.time()
        if self.pending:
            data = self.pending + data
            self.pending = b""
        pos, end = 0, len(data)
        try:
            while pos < end and not self.closing:
                if end - pos < 2:
                    break
                length = data[pos + 1]
                header = 2
                if length & 0x80:
                    length &= 0x7F
                    shift = 7
                    while True:
                        if header == 5:
                            msg = "remaining length longer than four bytes"
                            raise MqttProtocolError(msg, ReasonCode.MALFORMED_PACKET)
                        if pos + header >= end:
                            length = -1
                            break
                        byte = data[pos + header]
                        header += 1
                        length |= (byte & 0x7F) << shift
                        if byte < 0x80:
                            break
                        shift += 7
                    if length < 0:
                        break
                total = header + length
                if total > _MAX_PACKET:
                    msg = f"packet of {total} bytes is too large"
                    raise MqttProtocolError(msg, ReasonCode.PACKET_TOO_LARGE)
                if pos + total > end:
                    break
                first = data[pos]
                packet = decode_packet(first, data[pos + header : pos + total], self.version or 4)
                self._handle(packet, first, data, pos, total)
                pos += total
        except MqttProtocolError as exc:
            self._violation(exc)
            return
        if pos < end and not self.closing:
            self.pending = data[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        broker = self.broker
        broker._sessions.discard(self)
        if self.client_id:  # CONNECT was accepted
            broker.stats.connections -= 1
            for topic_filter in self.subscriptions:
                broker.index.remove(topic_filter, self)
            self.subscriptions = {}
            if broker.clients.get(self.client_id) is self:
                del broker.clients[self.client_id]
        if self.will is not None:
            will, self.will = self.will, None
            self._publish_will(will)

    # ------------------------------------------------------------------------------------ closing

    def _close(self, reason_code: int | None = None, *, keep_will: bool = True) -> None:
        """Queue DISCONNECT (v5, when ``reason_code`` given), flush, close; the will fires on loss."""
        if self.closing or self.transport is None:
            return
        if reason_code is not None and self.version == 5:
            self.send_packet(Disconnect(reason_code))
        self.flush()
        self.closing = True
        if not keep_will:
            self.will = None
        self.transport.close()

    def shutdown(self) -> None:
        self._close(ReasonCode.SERVER_SHUTTING_DOWN, keep_will=False)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _violation(self, exc: MqttProtocolError) -> None:
        logger.debug("x %s: %s", self.client_id or "<no CONNECT>", exc)
        code = exc.reason_code if exc.reason_code >= 0x80 else ReasonCode.PROTOCOL_ERROR
        if code == ReasonCode.UNSUPPORTED_PROTOCOL_VERSION and not self.version:
            self.version = 4  # answer in the oldest format we speak (MQTT 5.0 [MQTT-3.1.2-2])
            self.send_packet(ConnAck(False, 1))
            self.version = 0
            self._close()
            return
        self._close(code if self.version == 5 else None)

    def _publish_will(self, will: Will) -> None:
        publish = Publish(
            will.topic, will.payload, min(will.qos, 1), will.retain, False, None, will.properties
        )
        if will.retain:
            self.broker.retain(publish)
        self.broker.route(Message(publish, None, 0), None)

    def _on_timer(self) -> None:
        self.timer = None
        loop = self.broker._loop
        assert loop is not None
        if not self.version:  # no CONNECT within 10 s
            self.abort()
            return
        limit = self.keep_alive * self.broker.keep_alive_factor
        now = loop.time()
        if now - self.last_seen >= limit:
            self._close(ReasonCode.KEEP_ALIVE_TIMEOUT)
            return
        self.timer = loop.call_at(self.last_seen + limit, self._on_timer)

    # ------------------------------------------------------------------------------------ packets

    def _handle(self, packet: Packet, first: int, data: bytes, pos: int, total: int) -> None:
        if not self.version:
            if not isinstance(packet, Connect):
                msg = f"first packet must be CONNECT, not {type(packet).__name__} [MQTT-3.1.0-1]"
                raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
            self._on_connect(packet)
            return
        kind = type(packet)
        if kind is Publish:
            assert isinstance(packet, Publish)
            self._on_publish(packet, data[pos : pos + total] if first == 0x30 else None)
        elif kind is PingReq:
            self.queue(_PINGRESP)
        elif kind is Subscribe:
            assert isinstance(packet, Subscribe)
            self._on_subscribe(packet)
        elif kind is Unsubscribe:
            assert isinstance(packet, Unsubscribe)
            self._on_unsubscribe(packet)
        elif kind is Disconnect:
            assert isinstance(packet, Disconnect)
            if packet.reason_code != ReasonCode.DISCONNECT_WITH_WILL:
                self.will = None  # normal DISCONNECT discards the will [MQTT-3.14.4-3]
            self._close()
        elif kind is PubRel:
            assert isinstance(packet, PubRel)
            self.send_packet(PubComp(packet.packet_id))
        elif kind is PubAck or kind is PubRec or kind is PubComp:
            pass  # acks for our deliveries: clean sessions keep no in-flight state
        else:
            msg = f"a server must not receive {kind.__name__}"
            raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)

    def _on_connect(self, connect: Connect) -> None:
        broker = self.broker
        if broker.record_connects:
            broker.connects.append(connect)
        self.version = connect.protocol_version
        v5 = self.version == 5
        if broker.users is not None and (
            connect.username is None
            or broker.users.get(connect.username) != (connect.password or b"").decode(errors="replace")
        ):
            self.send_packet(ConnAck(False, ReasonCode.BAD_USER_NAME_OR_PASSWORD if v5 else 4))
            self._close()
            return
        client_id = connect.client_id
        assigned = None
        if not client_id:
            if not v5 and not connect.clean_start:
                self.send_packet(ConnAck(False, 2))  # identifier rejected [MQTT-3.1.3-8]
                self._close()
                return
            client_id = assigned = broker._next_client_id()
        old = broker.clients.get(client_id)
        if old is not None:
            old._close(ReasonCode.SESSION_TAKEN_OVER)  # [MQTT-3.1.4-3]; its will fires on loss
        self.client_id = client_id
        broker.clients[client_id] = self
        broker.stats.connections += 1
        broker.stats.connects += 1
        self.will = connect.will
        self.keep_alive = connect.keep_alive
        props = EMPTY_PROPERTIES
        if v5:
            user_properties: tuple[tuple[str, str], ...] = ()
            first = connect.properties.user_properties[:1]
            if broker.oktopus_prefix is not None and first and first[0][0] == "usp-endpoint-id":
                user_properties = (("subscribe-topic", f"{broker.oktopus_prefix}/agent/{first[0][1]}"),)
            response_information = None
            if broker.response_information_prefix and connect.properties.request_response_information:
                response_information = f"{broker.response_information_prefix}/{client_id}"
            props = Properties(
                assigned_client_identifier=assigned,
                maximum_qos=1,
                retain_available=1,
                shared_subscription_available=0,
                subscription_identifier_available=0,
                wildcard_subscription_available=1,
                response_information=response_information,
                user_properties=user_properties,
            )
        self.send_packet(ConnAck(False, 0, props))
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.keep_alive:
            loop = broker._loop
            assert loop is not None
            self.timer = loop.call_at(
                self.last_seen + self.keep_alive * broker.keep_alive_factor, self._on_timer
            )

    def _on_publish(self, publish: Publish, raw: bytes | None) -> None:
        props = publish.properties
        if props is not EMPTY_PROPERTIES and (
            props.topic_alias is not None or props.subscription_identifiers
        ):
            msg = "topic alias or subscription identifier from a client"
            raise MqttProtocolError(msg, ReasonCode.TOPIC_ALIAS_INVALID)
        if publish.qos == 1:
            assert publish.packet_id is not None
            self.queue(b"\x40\x02" + publish.packet_id.to_bytes(2, "big"))
        elif publish.qos == 2:
            assert publish.packet_id is not None
            self.send_packet(PubRec(publish.packet_id))
        broker = self.broker
        if publish.retain:
            broker.retain(publish)
        broker.route(Message(publish, raw, self.version), self)

    def _on_subscribe(self, subscribe: Subscribe) -> None:
        broker = self.broker
        codes: list[int] = []
        new_filters: list[Subscription] = []
        for sub in subscribe.subscriptions:
            topic_filter = sub.topic_filter
            if topic_filter.startswith("$share/"):
                codes.append(ReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED if self.version == 5 else 0x80)
                continue
            if not is_valid_filter(topic_filter):
                codes.append(ReasonCode.TOPIC_FILTER_INVALID if self.version == 5 else 0x80)
                continue
            granted = min(sub.qos, 1)
            if granted != sub.qos:
                sub = Subscription(
                    topic_filter, granted, sub.no_local, sub.retain_as_published, sub.retain_handling
                )
            is_new = broker.index.add(topic_filter, self, sub)
            self.subscriptions[topic_filter] = sub
            codes.append(granted)
            if sub.retain_handling == 0 or (sub.retain_handling == 1 and is_new):
                new_filters.append(sub)
        self.send_packet(SubAck(subscribe.packet_id, tuple(codes)))
        for sub in new_filters:  # retained messages after the SUBACK [MQTT-3.3.1-9]
            for topic, publish in list(broker.retained.items()):
                if topic_matches(sub.topic_filter, topic):
                    qos = min(publish.qos, sub.qos)
                    self.queue(self._encode(publish, qos, True, self._pid() if qos else None))

    def _on_unsubscribe(self, unsubscribe: Unsubscribe) -> None:
        codes = []
        for topic_filter in unsubscribe.topic_filters:
            existed = self.subscriptions.pop(topic_filter, None) is not None
            if existed:
                self.broker.index.remove(topic_filter, self)
            codes.append(0 if existed else ReasonCode.NO_SUBSCRIPTION_EXISTED)
        self.send_packet(UnsubAck(unsubscribe.packet_id, tuple(codes) if self.version == 5 else ()))
