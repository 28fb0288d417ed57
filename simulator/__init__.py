"""usp-simulator: a USP (TR-369) agent simulator and load tester; the public facade.

Names are imported lazily (PEP 562) so that ``import simulator.integrations.locust`` can let gevent
patch the standard library before anything here pulls in asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # wire layer
    "ErrorCode": "simulator.usp.errors",
    "UspError": "simulator.usp.errors",
    "Msg": "simulator.usp.messages",
    "MsgType": "simulator.usp.messages",
    "decode_msg": "simulator.usp.messages",
    "encode_msg": "simulator.usp.messages",
    "Record": "simulator.usp.records",
    "decode_record": "simulator.usp.records",
    "PathExpr": "simulator.usp.paths",
    "parse_path": "simulator.usp.paths",
    # data model
    "DataModel": "simulator.datamodel.editing",
    "Persona": "simulator.datamodel.personas",
    "Schema": "simulator.datamodel.schema",
    "SchemaError": "simulator.datamodel.errors",
    "SimulatorError": "simulator.datamodel.errors",
    "load_schema": "simulator.datamodel.loader",
    # agent
    "Agent": "simulator.agent.agent",
    "AgentConfig": "simulator.agent.context",
    # fleet
    "Fleet": "simulator.fleet.runner",
    "Probe": "simulator.fleet.probe",
    "ScenarioConfig": "simulator.fleet.config",
    "load_scenario": "simulator.fleet.config",
}

__all__ = [
    "Agent",
    "AgentConfig",
    "DataModel",
    "ErrorCode",
    "Fleet",
    "Msg",
    "MsgType",
    "PathExpr",
    "Persona",
    "Probe",
    "Record",
    "ScenarioConfig",
    "Schema",
    "SchemaError",
    "SimulatorError",
    "UspError",
    "__version__",
    "decode_msg",
    "decode_record",
    "encode_msg",
    "load_scenario",
    "load_schema",
    "parse_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'simulator' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from simulator.agent.agent import Agent
    from simulator.agent.context import AgentConfig
    from simulator.datamodel.editing import DataModel
    from simulator.datamodel.errors import SchemaError, SimulatorError
    from simulator.datamodel.loader import load_schema
    from simulator.datamodel.personas import Persona
    from simulator.datamodel.schema import Schema
    from simulator.fleet.config import ScenarioConfig, load_scenario
    from simulator.fleet.probe import Probe
    from simulator.fleet.runner import Fleet
    from simulator.usp.errors import ErrorCode, UspError
    from simulator.usp.messages import Msg, MsgType, decode_msg, encode_msg
    from simulator.usp.paths import PathExpr, parse_path
    from simulator.usp.records import Record, decode_record
