"""Whole-packet codec facade: ``encode_packet`` / ``decode_packet`` for MQTT 3.1.1 and 5.0."""

from __future__ import annotations

from simulator.mqtt.decoder import decode_packet
from simulator.mqtt.encoder import encode_packet, encode_publish

__all__ = ["decode_packet", "encode_packet", "encode_publish"]
