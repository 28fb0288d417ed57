"""TP-469 9.2: Device.LocalAgent.AddCertificate() adds a Certificate row (home-gateway profile)."""

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
