"""TR-181 data-model engine (layer L1): shared schema, per-agent stores, path resolution, facade."""

from __future__ import annotations

from simulator.datamodel.access import AccessHook, Perm
from simulator.datamodel.commands import validate_command_input
from simulator.datamodel.editing import (
    AddResult,
    DataModel,
    DeleteResult,
    ObjectFailedError,
    ParamFailure,
    SetResult,
)
from simulator.datamodel.errors import SchemaError, SimulatorError
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.resolver import ResolveOp
from simulator.datamodel.schema import Schema
from simulator.datamodel.store import Change, ChangeKind

__all__ = [
    "AccessHook",
    "AddResult",
    "Change",
    "ChangeKind",
    "DataModel",
    "DeleteResult",
    "ObjectFailedError",
    "ParamFailure",
    "Perm",
    "Persona",
    "ResolveOp",
    "Schema",
    "SchemaError",
    "SetResult",
    "SimulatorError",
    "load_schema",
    "validate_command_input",
]
