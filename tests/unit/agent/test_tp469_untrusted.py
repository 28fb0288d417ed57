"""TP-469 2.9: a Record from an unknown Controller (usp-protocol.md 1.4 step 3 and 9.4)."""

from __future__ import annotations

import random
from typing import Any

from helpers import AgentPair, ControllerStub

from simulator.agent.behaviour import AgentBehaviour
from simulator.usp.messages import Msg, MsgType
from simulator.usp.requests import Get, Set, UpdateObject, UpdateParamSetting
from simulator.usp.responses import ErrorMessage

STRANGER = "proto::stranger"


def _pair(**config: Any) -> AgentPair:
    def factory(ctx: Any) -> AgentBehaviour:
        return AgentBehaviour(ctx, rng=random.Random(3))

    pair = AgentPair("home-gateway", behaviour=factory, **config)
    pair.actions += pair.agent.start(pair.now)
    return pair


def _from_stranger(pair: AgentPair, body: Any, reply_to: str | None = "usp/stranger") -> Msg | None:
    stranger = ControllerStub(STRANGER, pair.agent.endpoint_id)
    _, record = stranger.request(body)
    sends = [s for s in pair.sends(pair.send(record, reply_to)) if s.to_id == STRANGER]
    if not sends:
        return None
    assert sends[0].reply_to == reply_to
    return stranger.decode(sends[0].record)[1]


def _stranger_rows(pair: AgentPair) -> list[dict[str, str]]:
    rows = pair.dm.instances("Device.LocalAgent.Controller.", now=pair.now)
    return [keys for _, keys in rows if keys.get("EndpointID") == STRANGER]


def test_tp469_2_9_unknown_controller_dropped_by_default() -> None:
    """TP-469 2.9, default (obuspa): the unknown sender's Record is dropped and no row is created."""
    pair = _pair()
    assert _from_stranger(pair, Get(("Device.DeviceInfo.Manufacturer",))) is None
    assert any(o.labels == (("reason", "unknown_controller"),) for o in pair.observes(pair.actions))
    assert _stranger_rows(pair) == []


def test_tp469_2_9_unknown_controller_gets_untrusted_role() -> None:
    """TP-469 2.9 with accept_unknown_controllers: a Controller row appears with AssignedRole =
    ControllerTrust.UntrustedRole, and the sender is answered with that role's permissions only."""
    pair = _pair(accept_unknown_controllers=True)
    reply = _from_stranger(pair, Get(("Device.DeviceInfo.Manufacturer",)))
    assert reply is not None and reply.msg_type == MsgType.GET_RESP
    result = reply.body.req_path_results[0]  # type: ignore[union-attr]
    assert result.resolved_path_results[0].result_params["Manufacturer"] == "Simulated Networks Inc."
    assert len(_stranger_rows(pair)) == 1
    untrusted = pair.value("Device.LocalAgent.ControllerTrust.UntrustedRole")
    row = next(p for p, k in pair.dm.instances("Device.LocalAgent.Controller.", now=pair.now)
               if k.get("EndpointID") == STRANGER)
    assert untrusted and pair.value(row + "AssignedRole") == untrusted
    assert pair.value(row + "Enable") == "true"
    denied = _from_stranger(pair, Set(False, (UpdateObject(
        "Device.DeviceInfo.", (UpdateParamSetting("FriendlyName", "pwned", True),)),)))
    assert denied is not None and isinstance(denied.body, ErrorMessage) and denied.body.err_code == 7006
    _from_stranger(pair, Get(("Device.DeviceInfo.Manufacturer",)))
    assert len(_stranger_rows(pair)) == 1  # known from now on


def test_unknown_controller_without_reply_path_or_untrusted_role_is_dropped() -> None:
    """9.4: no reply-to (nowhere to answer), or no UntrustedRole (a role-less row would be full access)."""
    pair = _pair(accept_unknown_controllers=True)
    assert _from_stranger(pair, Get(("Device.DeviceInfo.Manufacturer",)), reply_to=None) is None
    assert _stranger_rows(pair) == []
    pair.dm.set("Device.LocalAgent.ControllerTrust.", [("UntrustedRole", "", True)], now=pair.now)
    assert _from_stranger(pair, Get(("Device.DeviceInfo.Manufacturer",))) is None
    assert _stranger_rows(pair) == []
