"""ControllerTrust enforced for every message type (issue 8): a role with no bits gets nothing.

test_tp469_access.py covers each permission bit granted and denied (Add: Obj w; Delete: InstantiatedObj w;
Set: Param w; Operate: CommandEvent x; Get: Param r; GetSupportedDM: Obj r; GetInstances via
InstantiatedObj r; notifications: n). This module sweeps every request type against an all-denied
role, so a new handler that forgets its permission check fails here.
"""

from __future__ import annotations

import pytest
from helpers import AgentPair
from test_tp469_access import SUB, _role

from simulator.usp.errors import ErrorCode
from simulator.usp.requests import GetSupportedProtocol
from simulator.usp.responses import CommandFailure, ErrorMessage, GetSupportedProtocolResp

NONE = (1, "Device.", "----", "----", "----", "----")


@pytest.fixture
def denied(pair: AgentPair) -> AgentPair:
    pair.subscription("pre")
    _role(pair, NONE)
    return pair


def _denied(body: object) -> bool:
    return isinstance(body, ErrorMessage) and body.err_code == ErrorCode.PERMISSION_DENIED


def test_access_matrix_get(denied: AgentPair) -> None:
    res = denied.get(["Device.DeviceInfo.SerialNumber", "Device.LocalAgent."]).req_path_results
    assert res[0].err_code == ErrorCode.INVALID_PATH and res[0].resolved_path_results == ()
    assert all(not r.result_params for r in res[1].resolved_path_results)


def test_access_matrix_get_instances(denied: AgentPair) -> None:
    res = denied.instances(SUB).req_path_results[0]
    assert res.curr_insts == () or res.err_code


def test_access_matrix_get_supported_dm(denied: AgentPair) -> None:
    res = denied.supported(["Device.LocalAgent."]).req_obj_results[0]
    assert res.err_code or not any(o.supported_params for o in res.supported_objs)


def test_access_matrix_set(denied: AgentPair) -> None:
    assert _denied(denied.set(SUB + "1.", {"NotifRetry": "true"}))
    assert denied.dm.get(SUB + "1.NotifRetry", 0, now=denied.now)[0][1]["NotifRetry"] == "false"


def test_access_matrix_add(denied: AgentPair) -> None:
    assert _denied(denied.add(SUB, {"ID": "x"}))


def test_access_matrix_delete(denied: AgentPair) -> None:
    assert _denied(denied.delete(SUB + "1."))


def test_access_matrix_operate(denied: AgentPair) -> None:
    resp = denied.operate("Device.Reboot()").operation_results[0].operation_resp
    assert isinstance(resp, CommandFailure) and resp.err_code == ErrorCode.PERMISSION_DENIED


def test_access_matrix_get_supported_protocol_needs_no_permission(denied: AgentPair) -> None:
    """GetSupportedProtocol is answered to any known controller (it reveals no data-model content)."""
    assert isinstance(denied.request(GetSupportedProtocol("1.3")).body, GetSupportedProtocolResp)


def test_access_matrix_notify_needs_n_bit(denied: AgentPair) -> None:
    perms = denied.agent.ctx.permissions("proto::controller")
    node = denied.dm.schema.lookup("Device.LocalAgent.Controller.{i}.ProvisioningCode")
    assert not perms.notify_allowed(node, (1,), "ValueChange")
