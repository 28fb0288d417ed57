"""TP-469 9.2 (AddCertificate) and 2.10 (adding a Role) on the shipped profiles."""

from __future__ import annotations

from test_tp469_notify import call, connect, make

from simulator.usp.requests import Operate
from simulator.usp.responses import OperateResp

PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUSIM\n-----END CERTIFICATE-----\n"


def test_tp469_9_2_add_certificate_creates_a_row() -> None:
    """TP-469 9.2: AddCertificate() succeeds and CertificateNumberOfEntries grows by one."""
    pair = make()
    connect(pair)
    before = int(pair.value("Device.LocalAgent.CertificateNumberOfEntries"))
    resp, _ = call(pair, Operate("Device.LocalAgent.AddCertificate()", "c1", True, {"Certificate": PEM}))
    assert resp is not None and isinstance(resp.body, OperateResp)
    (result,) = resp.body.operation_results
    assert result.executed_command == "Device.LocalAgent.AddCertificate()"
    assert int(pair.value("Device.LocalAgent.CertificateNumberOfEntries")) == before + 1


def test_tp469_9_2_add_certificate_without_certificate_is_7027() -> None:
    """TP-469 9.2 / R-OPR.5: the mandatory Certificate argument missing -> cmd_failure 7027."""
    pair = make()
    connect(pair)
    resp, _ = call(pair, Operate("Device.LocalAgent.AddCertificate()", "c2", True, {}))
    assert resp is not None and isinstance(resp.body, OperateResp)
    (result,) = resp.body.operation_results
    assert getattr(result.operation_resp, "err_code", None) == 7027


def test_tp469_2_10_add_role_and_assign_it() -> None:
    """TP-469 2.10: a controller adds a Role with a Permission and assigns it; the new role takes effect."""
    pair = make("minimal")
    connect(pair)
    role = pair.add("Device.LocalAgent.ControllerTrust.Role.", {"Name": "ReadOnly", "Enable": "true"})
    role_path = role.created_obj_results[0].oper_status.instantiated_path
    perm = {"Order": "1", "Targets": "Device.", "Param": "r---", "Obj": "r---", "InstantiatedObj": "r---",
            "CommandEvent": "r---", "Enable": "true"}
    pair.add(role_path + "Permission.", perm)
    pair.set("Device.LocalAgent.Controller.1.", {"AssignedRole": role_path.rstrip(".")})
    assert pair.value("Device.LocalAgent.Controller.1.AssignedRole") == role_path.rstrip(".")
    denied = pair.set("Device.LocalAgent.Controller.1.", {"ProvisioningCode": "x"})
    assert denied.err_code == 7006 and [e.err_code for e in denied.param_errs] == [7006]
    assert pair.value("Device.LocalAgent.Controller.1.ProvisioningCode") == ""
