"""MTP drivers on asyncio: MQTT (over simulator.mqtt), WebSocket, in-memory; and an embedded broker."""
