"""Incremental MQTT stream decoder: feed bytes in arbitrary chunks, take whole packets out."""

from __future__ import annotations

from simulator.mqtt.errors import MqttProtocolError, ReasonCode
from simulator.mqtt.packets import Packet
from simulator.mqtt.wire import decode_packet

__all__ = ["DEFAULT_MAXIMUM_PACKET_SIZE", "StreamDecoder"]

DEFAULT_MAXIMUM_PACKET_SIZE = 16 * 1024 * 1024
"""Default bound on one incoming packet (USP records reach 5 MB; controllers.md, obuspa limits)."""


class StreamDecoder:
    """Split a byte stream into MQTT packets.

    Strategy: the common case is a read that holds whole packets, so ``feed`` keeps a reference to
    the caller's ``bytes`` and ``next_packet`` slices packets out of it without copying the stream.
    Only a packet split across reads is accumulated in a ``bytearray``; the buffer never holds more
    than one incomplete packet, and a packet announcing a size above ``maximum_packet_size`` is
    rejected from its fixed header (0x95 Packet Too Large, MQTT 5.0 section 3.1.2.11.4) before its
    body is buffered.

    After a ``MqttProtocolError`` the stream is unusable (MQTT has no resynchronisation).
    """

    __slots__ = ("_buf", "_pos", "maximum_packet_size", "version")

    def __init__(self, version: int = 5, maximum_packet_size: int = DEFAULT_MAXIMUM_PACKET_SIZE) -> None:
        """Create a decoder.

        Args:
            version: Protocol version used to decode (4 or 5).
            maximum_packet_size: Largest accepted packet, fixed header included.
        """
        self.version = version
        self.maximum_packet_size = maximum_packet_size
        self._buf: bytes | bytearray = b""
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Number of bytes received but not yet returned as packets."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        if not data:
            return
        buf = self._buf
        if self._pos >= len(buf):
            self._buf = data
            self._pos = 0
        elif isinstance(buf, bytearray) and self._pos == 0:
            buf += data
        else:
            acc = bytearray(memoryview(buf)[self._pos :])
            acc += data
            self._buf = acc
            self._pos = 0

    def next_packet(self) -> Packet | None:
        """Return the next complete packet, or ``None`` if more bytes are needed.

        Raises:
            MqttProtocolError: For a malformed packet or one larger than ``maximum_packet_size``.
        """
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 2:
            return None
        length = buf[pos + 1]
        header = 2
        if length & 0x80:
            length &= 0x7F
            shift = 7
            while True:
                if header == 5:
                    msg = "remaining length longer than four bytes [MQTT-1.5.5-1]"
                    raise MqttProtocolError(msg, ReasonCode.MALFORMED_PACKET)
                if header >= avail:
                    return None
                byte = buf[pos + header]
                header += 1
                length |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
        end = header + length
        if end > self.maximum_packet_size:
            msg = f"packet of {end} bytes exceeds the maximum packet size {self.maximum_packet_size}"
            raise MqttProtocolError(msg, ReasonCode.PACKET_TOO_LARGE)
        if end > avail:
            return None
        first = buf[pos]
        body = buf[pos + header : pos + end]
        self._pos = pos + end
        if self._pos >= len(buf):
            self._buf = b""
            self._pos = 0
        return decode_packet(first, body if type(body) is bytes else bytes(body), self.version)

    def feed_all(self, data: bytes) -> list[Packet]:
        """Feed ``data`` and return every packet now complete (raises like ``next_packet``)."""
        self.feed(data)
        packets = []
        while (packet := self.next_packet()) is not None:
            packets.append(packet)
        return packets
