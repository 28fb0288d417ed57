"""Incremental MQTT stream decoder: feed bytes in arbitrary chunks, take whole packets out."""

from __future__ import annotations

from simulator.mqtt.decoder import decode_packet, decode_publish
from simulator.mqtt.errors import MqttProtocolError, ReasonCode
from simulator.mqtt.packets import Packet

__all__ = ["DEFAULT_MAXIMUM_PACKET_SIZE", "StreamDecoder"]

DEFAULT_MAXIMUM_PACKET_SIZE = 16 * 1024 * 1024
"""Default bound on one incoming packet (USP records reach 5 MB; controllers.md, obuspa limits)."""

_MALFORMED = ReasonCode.MALFORMED_PACKET


class StreamDecoder:
    """Split a byte stream into MQTT packets.

    Strategy: most reads hold exactly one small packet, which ``feed`` decodes straight from the
    caller's ``bytes``. Otherwise whole packets are sliced out of the read and only a packet split
    across reads is kept, in a ``bytearray``; the buffer never holds more than one incomplete packet,
    and a packet announcing a size above ``maximum_packet_size`` is rejected from its fixed header
    (0x95 Packet Too Large, MQTT 5.0 section 3.1.2.11.4) before its body is buffered.

    After an ``MqttProtocolError`` the stream is unusable (MQTT cannot resynchronise).
    """

    __slots__ = ("_buf", "maximum_packet_size", "version")

    def __init__(self, version: int = 5, maximum_packet_size: int = DEFAULT_MAXIMUM_PACKET_SIZE) -> None:
        """Create a decoder.

        Args:
            version: Protocol version used to decode (4 or 5).
            maximum_packet_size: Largest accepted packet, fixed header included.
        """
        self.version = version
        self.maximum_packet_size = maximum_packet_size
        self._buf: bytes | bytearray = b""

    @property
    def buffered(self) -> int:
        """Number of bytes of an incomplete packet kept for the next ``feed``."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Packet]:
        """Add received bytes and return every packet they complete, in order.

        Raises:
            MqttProtocolError: For a malformed packet or one larger than ``maximum_packet_size``. Its
                ``packets`` attribute holds the complete packets that preceded the bad one in
                this call, so the caller can still act on them.
        """
        if not self._buf:
            # Fast path: the read is exactly one packet with a one- or two-byte Remaining Length.
            size = len(data)
            if size >= 2:
                length = data[1]
                header = 2
                if length & 0x80 and size >= 3 and data[2] < 0x80:
                    length = (length & 0x7F) | (data[2] << 7)
                    header = 3
                if length + header == size <= self.maximum_packet_size and not data[header - 1] & 0x80:
                    first = data[0]
                    if first >> 4 == 3:
                        return [decode_publish(first & 0x0F, data[header:], self.version)]
                    return [decode_packet(first, data[header:], self.version)]
            buf: bytes | bytearray = data
        else:
            buf = self._buf
            buf += data  # bytearray: extended in place
        packets: list[Packet] = []
        try:
            pos = self._split(buf, packets)
        except MqttProtocolError as exc:
            exc.packets = tuple(packets)
            self._buf = b""
            raise
        if pos == len(buf):
            self._buf = b""
        elif pos or type(buf) is bytes:
            self._buf = bytearray(memoryview(buf)[pos:])
        return packets

    def _split(self, buf: bytes | bytearray, packets: list[Packet]) -> int:
        pos = 0
        size = len(buf)
        limit = self.maximum_packet_size
        version = self.version
        while size - pos >= 2:
            length = buf[pos + 1]
            header = 2
            if length & 0x80:
                length &= 0x7F
                shift = 7
                while True:
                    if header == 5:
                        msg = "remaining length longer than four bytes [MQTT-1.5.5-1]"
                        raise MqttProtocolError(msg, _MALFORMED)
                    if pos + header >= size:
                        return pos
                    byte = buf[pos + header]
                    header += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
            end = header + length
            if end > limit:
                msg = f"packet of {end} bytes exceeds the maximum packet size {limit}"
                raise MqttProtocolError(msg, ReasonCode.PACKET_TOO_LARGE)
            if pos + end > size:
                return pos
            body = buf[pos + header : pos + end]
            packets.append(decode_packet(buf[pos], body if type(body) is bytes else bytes(body), version))
            pos += end
        return pos
