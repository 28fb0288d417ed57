"""The access hook the agent passes in to filter by ControllerTrust permissions (usp-protocol.md 9.4)."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from simulator.datamodel.schema import Instances, Node


class Perm(Enum):
    """One permission question, mapped to the TR-181 Permission strings."""

    PARAM_READ = "Param.r"  # Get a value, see it in GSDM
    PARAM_WRITE = "Param.w"  # Set it, or set it during Add
    OBJ_READ = "Obj.r"  # see the object in GSDM
    OBJ_ADD = "Obj.w"  # Add instances to the table
    INST_READ = "InstantiatedObj.r"  # GetInstances; Get through a wildcard/search
    INST_DELETE = "InstantiatedObj.w"  # Delete the instance
    CMD_READ = "CommandEvent.r"  # see the command/event in GSDM
    CMD_EXEC = "CommandEvent.x"  # Operate


AccessHook = Callable[[Node, Instances, Perm], bool]
"""``hook(node, instances, perm) -> allowed``. ``node`` is the parameter/object/command node asked about,
``instances`` the instance numbers of the concrete object (``()`` for supported-model questions).
``None`` instead of a hook means "everything allowed" (the fast path)."""
