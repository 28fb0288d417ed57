"""Test harness: ControllerStub builds request Records; AgentPair wires it to an Agent in memory."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.agent.actions import Action, Observe, Send
from simulator.agent.agent import Agent, BehaviourFactory
from simulator.agent.context import AgentConfig
from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import Schema
from simulator.usp.messages import Msg, decode_msg, encode_msg
from simulator.usp.records import Record, decode_record, encode_no_session_context
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    Operate,
    Set,
    UpdateObject,
    UpdateParamSetting,
)

DATAMODELS = Path(__file__).resolve().parents[1] / "datamodels"
CONTROLLER_ID = "proto::controller"
"""The controller configured in datamodels/minimal.yaml (Device.LocalAgent.Controller.1.)."""
AGENT_ID = "os::00D09E-SIM00000007"

_SCHEMAS: dict[str, Schema] = {}


def schema(name: str = "minimal") -> Schema:
    """Load datamodels/<name>.yaml once per test session."""
    if name not in _SCHEMAS:
        _SCHEMAS[name] = load_schema(DATAMODELS / f"{name}.yaml")
    return _SCHEMAS[name]


@dataclass
class ControllerStub:
    """A controller that builds request Records and decodes the agent's answers.

    Attributes:
        endpoint_id: the controller's EndpointID (Record from_id).
        agent_id: the agent's EndpointID (Record to_id).
        version: Record.version it sends.
    """

    endpoint_id: str = CONTROLLER_ID
    agent_id: str = AGENT_ID
    version: str = "1.3"
    _ids: Iterable[int] = field(default_factory=itertools.count)

    def next_id(self) -> str:
        """A fresh msg_id."""
        return f"ctrl-{next(self._ids)}"  # type: ignore[call-overload]

    def record(
        self, msg: Msg, *, to_id: str | None = None, from_id: str | None = None, version: str | None = None
    ) -> bytes:
        """Encode ``msg`` in a no_session_context Record from this controller."""
        return encode_no_session_context(
            version or self.version,
            self.agent_id if to_id is None else to_id,
            self.endpoint_id if from_id is None else from_id,
            encode_msg(msg),
        )

    def request(self, body: Any, msg_id: str | None = None) -> tuple[Msg, bytes]:
        """Build a request Msg (consistent header) and its Record."""
        msg = Msg.of(msg_id or self.next_id(), body)
        return msg, self.record(msg)

    @staticmethod
    def decode(record: bytes) -> tuple[Record, Msg]:
        """Decode an agent Record and its Msg."""
        rec = decode_record(record)
        return rec, decode_msg(rec.payload)


class AgentPair:
    """A ControllerStub talking to an Agent through memory; time is a float the test advances.

    Attributes:
        agent: the Agent under test.
        controller: the ControllerStub.
        now: the current time (epoch seconds) passed to every Agent call.
        actions: every action the agent returned, in order.
    """

    def __init__(
        self,
        profile: str = "minimal",
        *,
        endpoint_id: str = AGENT_ID,
        behaviour: BehaviourFactory | bool | None = False,
        now: float = 1_700_000_000.0,
        **config: Any,
    ) -> None:
        config.setdefault("strict", True)
        self.config = AgentConfig(endpoint_id=endpoint_id, **config)
        self.dm = DataModel(schema(profile), Persona(7, endpoint_id, boot_time=now - 100))
        self.agent = Agent(self.config, self.dm, behaviour)
        self.controller = ControllerStub(CONTROLLER_ID, endpoint_id)
        self.now = now
        self.reply_to: str | None = "usp/controller/reply"
        self.actions: list[Action] = []

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds

    def send(self, record: bytes, reply_to: str | None = ...) -> list[Action]:  # type: ignore[assignment]
        """Feed raw Record bytes to the agent; returns (and records) its actions."""
        out = self.agent.receive(record, self.now, self.reply_to if reply_to is ... else reply_to)
        self.actions += out
        return out

    @staticmethod
    def sends(actions: list[Action]) -> list[Send]:
        """The Send actions among ``actions``."""
        return [a for a in actions if isinstance(a, Send)]

    @staticmethod
    def observes(actions: list[Action], name: str | None = None) -> list[Observe]:
        """The Observe actions among ``actions`` (optionally only those called ``name``)."""
        return [a for a in actions if isinstance(a, Observe) and (name is None or a.name == name)]

    def request(self, body: Any, msg_id: str | None = None) -> Msg:
        """Send a request and return the decoded answer (asserts exactly one answer on the reply path)."""
        msg, record = self.controller.request(body, msg_id)
        sends = [s for s in self.sends(self.send(record)) if s.reply_to == self.reply_to]
        assert len(sends) == 1, f"expected one answer, got {sends}"
        rec, reply = self.controller.decode(sends[0].record)
        assert rec.to_id == self.controller.endpoint_id and rec.from_id == self.agent.endpoint_id
        assert rec.version == self.config.record_version
        assert sends[0].reply_to == self.reply_to
        assert reply.msg_id == msg.msg_id
        return reply

    # -- shortcuts -----------------------------------------------------------------------------------------
    def get(self, paths: Iterable[str] | str, max_depth: int = 0) -> Any:
        """Get -> GetResp body (or ErrorMessage)."""
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        return self.request(Get(paths, max_depth)).body

    def set(
        self, obj_path: str, params: Mapping[str, str], *, required: bool = True, allow_partial: bool = False
    ) -> Any:
        """Set one object -> SetResp body (or ErrorMessage)."""
        return self.set_many([(obj_path, params, required)], allow_partial=allow_partial)

    def set_many(self, objs: Iterable[tuple[str, Mapping[str, str], bool]], *, allow_partial: bool) -> Any:
        """Set several objects."""
        update = tuple(
            UpdateObject(p, tuple(UpdateParamSetting(k, v, req) for k, v in params.items()))
            for p, params, req in objs
        )
        return self.request(Set(allow_partial, update)).body

    def add(
        self,
        obj_path: str,
        params: Mapping[str, str] | None = None,
        *,
        required: bool = True,
        allow_partial: bool = False,
    ) -> Any:
        """Add one object -> AddResp body (or ErrorMessage)."""
        return self.add_many([(obj_path, params or {}, required)], allow_partial=allow_partial)

    def add_many(self, objs: Iterable[tuple[str, Mapping[str, str], bool]], *, allow_partial: bool) -> Any:
        """Add several objects."""
        create = tuple(
            CreateObject(p, tuple(CreateParamSetting(k, v, req) for k, v in params.items()))
            for p, params, req in objs
        )
        return self.request(Add(allow_partial, create)).body

    def delete(self, paths: Iterable[str] | str, *, allow_partial: bool = False) -> Any:
        """Delete -> DeleteResp body (or ErrorMessage)."""
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        return self.request(Delete(allow_partial, paths)).body

    def instances(self, paths: Iterable[str] | str, first_level_only: bool = False) -> Any:
        """GetInstances -> GetInstancesResp body."""
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        return self.request(GetInstances(paths, first_level_only)).body

    def supported(
        self, paths: Iterable[str] | str, *, first_level_only: bool = False, flags: bool = True
    ) -> Any:
        """GetSupportedDM with every return_* flag set to ``flags``."""
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        return self.request(GetSupportedDM(paths, first_level_only, flags, flags, flags, flags)).body

    def operate(
        self,
        command: str,
        *,
        send_resp: bool = True,
        input_args: dict[str, str] | None = None,
        command_key: str = "",
    ) -> Any:
        """Operate -> OperateResp body (or ErrorMessage)."""
        return self.request(Operate(command, command_key, send_resp, input_args or {})).body

    def value(self, path: str) -> str:
        """Read a parameter directly from the data model (bypassing USP)."""
        return self.dm.get_value(path, self.now)

    def subscription(self, sub_id: str = "s1", **params: str) -> str:
        """Create a Device.LocalAgent.Subscription row via Add; returns its instance path."""
        values = {
            "ID": sub_id,
            "NotifType": "ValueChange",
            "ReferenceList": "Device.LocalAgent.",
            **params,
        }
        resp = self.add("Device.LocalAgent.Subscription.", values)
        path: str = resp.created_obj_results[0].oper_status.instantiated_path
        return path
