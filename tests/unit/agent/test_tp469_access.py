"""TP-469 section 2 (authentication, access control): ControllerTrust permission bits (usp-protocol.md 9.4).

Not applicable: 2.3-2.5 deprecated; 2.6-2.8 (TLS, signatures, certificates: plaintext simulated agent;
2.7 bad signatures are ignored since mac_signature is never checked); 2.9 (UntrustedRole assignment into
AssignedRole needs certificate-based identity; unknown senders are dropped, or get UntrustedRole when
require_known_controller=False, tested in test_pipeline); 2.19/2.20 ('n' bit on ValueChange delivery) are
exercised by the notification suite through ``Permissions.notify_allowed`` (unit-tested here);
2.27 SecuredRoles: minimal.yaml has no SecuredRoles, secured values always read as "".
"""

from __future__ import annotations

import pytest
from helpers import AgentPair

from simulator.agent.access import FULL, Permissions, parse_bits, permissions_for
from simulator.datamodel.access import Perm
from simulator.usp.errors import ErrorCode
from simulator.usp.responses import AddOperationSuccess, CommandFailure, ErrorMessage, OperationFailure

ROLE = "Device.LocalAgent.ControllerTrust.Role."
SUB = "Device.LocalAgent.Subscription."
CTRL1 = "Device.LocalAgent.Controller.1"


def _role(pair: AgentPair, *perms: tuple[int, str, str, str, str, str]) -> None:
    """Give Controller.1 a fresh role made of (Order, Targets, Param, Obj, InstantiatedObj, CommandEvent)."""
    dm, now = pair.dm, pair.now
    name = f"Test{len(pair.dm.store.instances(pair.dm.schema.lookup(ROLE + '{i}.'), ()))}"
    (role,) = dm.add(ROLE, {"Name": name, "Enable": "true"}, now=now)
    for order, targets, param, obj, inst, cmd in perms:
        dm.add(
            role.path + "Permission.",
            {
                "Enable": "true",
                "Order": str(order),
                "Targets": targets,
                "Param": param,
                "Obj": obj,
                "InstantiatedObj": inst,
                "CommandEvent": cmd,
            },
            now=now,
        )
    dm.set(CTRL1 + ".", {"AssignedRole": role.path[:-1]}, now=now)
    pair.agent.poll(now)  # drains the change log -> caches invalidated


@pytest.fixture
def limited(pair: AgentPair) -> AgentPair:
    """Controller.1: read everything, full rights only on Subscription rows whose ..."""
    pair.subscription("pre")
    _role(pair, (1, "Device.", "r---", "r---", "r---", "r---"))
    return pair


def test_access_default_role_is_full_access(pair: AgentPair) -> None:
    """obuspa ships Role 1 'Full Access' (Targets Device., rwxn): the fast path has no hook."""
    assert pair.agent.ctx.permissions("proto::controller").hook is None


def test_access_controller_without_role_has_full_access(pair: AgentPair) -> None:
    pair.dm.set(CTRL1 + ".", {"AssignedRole": ""}, now=pair.now)
    pair.agent.poll(pair.now)
    assert pair.agent.ctx.permissions("proto::controller").hook is None


def test_tp469_2_11_add_allowed(pair: AgentPair) -> None:
    """TP-469 2.11: Obj w + Param w -> Add succeeds."""
    _role(pair, (1, "Device.", "rw--", "rw--", "rw--", "----"))
    status = pair.add(SUB, {"ID": "a"}).created_obj_results[0].oper_status
    assert isinstance(status, AddOperationSuccess)


def test_tp469_2_12_add_denied(limited: AgentPair) -> None:
    """TP-469 2.12: Add without Obj w -> Error 7006."""
    err = limited.add(SUB, {"ID": "a"})
    assert isinstance(err, ErrorMessage) and err.err_code == ErrorCode.PERMISSION_DENIED


def test_tp469_2_13_delete_allowed_and_2_14_denied(pair: AgentPair) -> None:
    """TP-469 2.13/2.14: InstantiatedObj w governs Delete."""
    path = pair.subscription("a")
    _role(pair, (1, "Device.", "r---", "r---", "r---", "----"))
    err = pair.delete(path)
    assert isinstance(err, ErrorMessage) and err.err_code == ErrorCode.PERMISSION_DENIED
    assert pair.value(path + "ID") == "a"
    _role(pair, (1, "Device.", "r---", "r---", "rw--", "----"))
    assert pair.delete(path).deleted_obj_results[0].oper_status.affected_paths == (path,)


def test_tp469_2_15_set_allowed_and_2_16_denied(limited: AgentPair) -> None:
    """TP-469 2.15/2.16: Param w governs Set; denied -> Error 7006, value unchanged."""
    err = limited.set(SUB + "1.", {"NotifRetry": "true"}, required=False)
    assert isinstance(err, ErrorMessage) and err.err_code == ErrorCode.PERMISSION_DENIED
    assert err.param_errs[0].param_path == SUB + "1.NotifRetry"
    _role(limited, (1, "Device.", "rw--", "r---", "r---", "----"))
    assert not isinstance(limited.set(SUB + "1.", {"NotifRetry": "true"}), ErrorMessage)


def test_tp469_2_17_operate_allowed_and_2_18_denied(limited: AgentPair) -> None:
    """TP-469 2.17/2.18 (1.4): no CommandEvent x -> OperateResp cmd_failure 7006."""
    res = limited.operate("Device.Reboot()").operation_results[0]
    assert (
        isinstance(res.operation_resp, CommandFailure)
        and res.operation_resp.err_code == ErrorCode.PERMISSION_DENIED
    )
    _role(limited, (1, "Device.", "r---", "r---", "r---", "r-x-"))
    assert not isinstance(
        limited.operate("Device.Reboot()").operation_results[0].operation_resp, CommandFailure
    )


def test_tp469_2_21_overlapping_permissions_resolved_by_order(pair: AgentPair) -> None:
    """TP-469 2.21: the higher Order wins where Targets overlap within one role."""
    _role(
        pair,
        (1, "Device.", "r---", "r---", "r---", "----"),
        (5, "Device.LocalAgent.", "----", "----", "----", "----"),
    )
    res = pair.get(["Device.DeviceInfo.SerialNumber", "Device.LocalAgent.EndpointID"]).req_path_results
    assert res[0].err_code == 0 and res[1].err_code == ErrorCode.INVALID_PATH


def test_tp469_2_22_get_omits_unreadable_parameter(pair: AgentPair) -> None:
    """TP-469 2.22 (R-GET.4): the unreadable parameter is silently left out of an object Get."""
    _role(
        pair,
        (1, "Device.", "r---", "r---", "r---", "----"),
        (2, "Device.LocalAgent.Controller.{i}.ProvisioningCode", "----", "----", "----", "----"),
    )
    params = (
        pair.get("Device.LocalAgent.Controller.1.", 1)
        .req_path_results[0]
        .resolved_path_results[0]
        .result_params
    )
    assert "ProvisioningCode" not in params and "EndpointID" in params


def test_access_unreadable_instances_are_absent(pair: AgentPair) -> None:
    """R-GIN.0 / R-GET.1: no InstantiatedObj r -> GetInstances skips, a search Get returns nothing."""
    pair.subscription("a")
    _role(pair, (1, "Device.", "r---", "r---", "----", "----"))
    assert pair.instances(SUB).req_path_results[0].curr_insts == ()
    assert pair.get(SUB + "*.").req_path_results[0].resolved_path_results == ()


def test_access_gsdm_hides_unreadable_elements(pair: AgentPair) -> None:
    """R-GSP.0: elements without r are not listed; writable params are narrowed to READ_ONLY without w."""
    _role(pair, (1, "Device.", "r---", "r---", "r---", "----"))
    (res,) = pair.supported("Device.").req_obj_results
    root = res.supported_objs[0]
    assert root.supported_commands == () and root.supported_events == ()
    sub = next(o for o in res.supported_objs if o.supported_obj_path == SUB + "{i}.")
    assert all(p.access == 0 for p in sub.supported_params)
    assert sub.access == 0  # OBJ_READ_ONLY: no Obj w


def test_tp469_2_23_add_search_parent_partial_permission(pair: AgentPair) -> None:
    """TP-469 2.23/2.24: denied parent; allow_partial true -> failure, false -> Error 7006."""
    pair.add("Device.LocalAgent.Controller.", {"EndpointID": "proto::two", "Enable": "true"})
    _role(
        pair,
        (1, "Device.", "rw--", "r---", "r---", "----"),
        (2, "Device.LocalAgent.Controller.1.MTP.", "rw--", "rw--", "rw--", "----"),
    )
    resp = pair.add("Device.LocalAgent.Controller.1.MTP.", {"Protocol": "WebSocket"}, allow_partial=True)
    assert isinstance(resp.created_obj_results[0].oper_status, AddOperationSuccess)
    resp = pair.add("Device.LocalAgent.Controller.2.MTP.", {"Protocol": "WebSocket"}, allow_partial=True)
    assert resp.created_obj_results[0].oper_status.err_code == ErrorCode.PERMISSION_DENIED
    err = pair.add("Device.LocalAgent.Controller.2.MTP.", {"Protocol": "WebSocket"})
    assert isinstance(err, ErrorMessage) and err.err_code == ErrorCode.PERMISSION_DENIED
    assert err.param_errs[0].err_code == ErrorCode.PERMISSION_DENIED


def test_tp469_2_25_add_omitting_unwritable_parameter(pair: AgentPair) -> None:
    """TP-469 2.25: an unwritable parameter left out takes its default and the Add succeeds."""
    _role(
        pair,
        (1, "Device.", "rw--", "rw--", "rw--", "----"),
        (2, SUB + "{i}.NotifRetry", "r---", "rw--", "rw--", "----"),
    )
    path = pair.add(SUB, {"ID": "a"}).created_obj_results[0].oper_status.instantiated_path
    assert pair.value(path + "NotifRetry") == "false"


def test_tp469_2_26_add_including_unwritable_required_parameter(pair: AgentPair) -> None:
    """TP-469 2.26: allow_partial=true, unwritable required param -> oper_failure 7006; not created."""
    _role(
        pair,
        (1, "Device.", "rw--", "rw--", "rw--", "----"),
        (2, SUB + "{i}.NotifRetry", "r---", "rw--", "rw--", "----"),
    )
    resp = pair.add(SUB, {"ID": "a", "NotifRetry": "true"}, allow_partial=True)
    status = resp.created_obj_results[0].oper_status
    assert isinstance(status, OperationFailure) and status.err_code == ErrorCode.PERMISSION_DENIED
    assert pair.value("Device.LocalAgent.SubscriptionNumberOfEntries") == "0"


def test_access_disabled_role_grants_nothing(pair: AgentPair) -> None:
    pair.dm.set(ROLE + "1.", {"Enable": "false"}, now=pair.now)
    pair.agent.poll(pair.now)
    assert pair.get("Device.DeviceInfo.SerialNumber").req_path_results[0].err_code == ErrorCode.INVALID_PATH


def test_access_instance_specific_target(pair: AgentPair) -> None:
    a, b = pair.subscription("a"), pair.subscription("b")
    _role(
        pair, (1, "Device.", "r---", "r---", "r---", "----"), (2, SUB + "2.", "rw--", "r---", "r---", "----")
    )
    assert not isinstance(pair.set(b, {"NotifRetry": "true"}), ErrorMessage)
    assert isinstance(pair.set(a, {"NotifRetry": "true"}), ErrorMessage)


def test_access_notify_bits(pair: AgentPair) -> None:
    """'n' bits for notifications (TP-469 2.19/2.20 building block)."""
    _role(pair, (1, "Device.", "r--n", "r---", "r---", "----"))
    perms = pair.agent.ctx.permissions("proto::controller")
    node = pair.dm.schema.lookup("Device.LocalAgent.Controller.{i}.ProvisioningCode")
    table = pair.dm.schema.lookup(SUB + "{i}.")
    assert perms.notify_allowed(node, (1,), "ValueChange")
    assert not perms.notify_allowed(table, (1,), "ObjectCreation")


def test_access_permission_strings_and_union() -> None:
    assert parse_bits("rwxn", "rwxn", "rwxn", "rwxn") == FULL
    assert parse_bits("r-", "", "----", "--x-") == 1 | (1 << 14)
    both = Permissions(
        [
            [(1, (("Device",),), parse_bits("r---", "", "", ""))],
            [(1, (("Device",),), parse_bits("-w--", "", "", ""))],
        ]
    )
    assert both.hook is not None
    node = type("N", (), {"id": 1, "path": "Device.X"})()
    assert both.allowed(node, (), Perm.PARAM_READ) and both.allowed(node, (), Perm.PARAM_WRITE)
    assert not both.allowed(node, (), Perm.OBJ_READ)


def test_access_unknown_controller_gets_untrusted_role(pair: AgentPair) -> None:
    perms = permissions_for(pair.agent.ctx, "proto::nobody")
    assert perms.hook is not None  # Role.2 "Untrusted" has no permissions
    assert not perms.may(pair.dm.schema.root, (), Perm.OBJ_READ)
