"""Request handlers, one ``handle_<message>`` per USP request type (obuspa handle_*.c; TR-369 6.1).

The read handlers live in handlers_get.py and the mutating ones in handlers_edit.py; this module
re-exports them and holds the built-in Operate answer used when no behaviour module handles commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.agent.handlers_edit import MessageFailure, handle_add, handle_delete, handle_set
from simulator.agent.handlers_get import (
    handle_get,
    handle_get_instances,
    handle_get_plain,
    handle_get_supported_dm,
    handle_get_supported_protocol,
)
from simulator.datamodel.access import Perm
from simulator.usp.errors import ErrorCode
from simulator.usp.requests import CommandFailure, Operate, OutputArgs
from simulator.usp.responses import OperateResp, OperationResult

if TYPE_CHECKING:
    from simulator.agent.access import Permissions
    from simulator.agent.context import AgentContext

__all__ = [
    "MessageFailure",
    "handle_add",
    "handle_delete",
    "handle_get",
    "handle_get_instances",
    "handle_get_plain",
    "handle_get_supported_dm",
    "handle_get_supported_protocol",
    "handle_operate",
    "handle_set",
]


def handle_operate(ctx: AgentContext, req: Operate, perms: Permissions) -> OperateResp:
    """Answer an Operate without a command implementation (the fallback when no behaviour is plugged in).

    Every resolved command that the controller may execute and that takes no mandatory input succeeds
    synchronously with empty output arguments; a denied one gets ``cmd_failure`` 7006 (TP-469 2.18),
    a missing mandatory input 7027 (R-OPR.5), an async command 7022 (no Request table is kept here).

    Args:
        ctx: the agent context.
        req: the Operate request.
        perms: the controller's permissions.

    Returns:
        The OperateResp (one OperationResult per resolved command; none for a search matching nothing).

    Raises:
        UspError: the path is invalid (7008, 7026, 7016, 7022): the caller answers an ErrorMessage.
    """
    results = []
    for executed, cmd, inst in ctx.datamodel.commands(req.command, now=ctx.now, access=perms.hook):
        if not perms.may(cmd, inst, Perm.CMD_EXEC):
            outcome: OutputArgs | CommandFailure = CommandFailure(
                int(ErrorCode.PERMISSION_DENIED), "Permission denied")
        elif any(arg.mandatory and name not in req.input_args for name, arg in cmd.input.items()):
            outcome = CommandFailure(int(ErrorCode.INVALID_COMMAND_ARGS), "Missing mandatory input argument")
        elif cmd.is_async:
            outcome = CommandFailure(int(ErrorCode.COMMAND_FAILURE), "Command not implemented")
        else:
            outcome = OutputArgs({})
        results.append(OperationResult(executed, outcome))
    return OperateResp(tuple(results))
