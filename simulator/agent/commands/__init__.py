"""Simulated TR-181 commands, one module per family; importing the package fills operate.REGISTRY."""

from __future__ import annotations

from simulator.agent.commands import device, diagnostics, firmware, localagent, software

__all__ = ["device", "diagnostics", "firmware", "localagent", "software"]
