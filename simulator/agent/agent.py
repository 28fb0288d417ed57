"""The sans-I/O USP Agent: Records in, Actions out (TR-369 receive pipeline, usp-protocol.md 1.3-1.4).

# Strategy: ``receive`` runs obuspa's pipeline as a chain of early returns; every drop returns only an
# ``Observe("dropped_record", labels=(("reason", ...),))`` and never a Send. Faults never escape:
# UspError becomes an ErrorMessage (or a per-path err_code inside the handler), any other exception
# becomes Error 7003 plus an ``Observe("internal_error")`` and is re-raised only with
# ``AgentConfig.strict`` (tests). After each call that may have changed the data model, the change log is
# drained: Controller/ControllerTrust changes invalidate the context caches and the behaviour module
# (notifications) gets the changes. Per-agent state is a few references; the data model is not copied.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from simulator.agent.actions import Action, Observe, Send, Timer
from simulator.agent.context import AgentConfig, AgentContext
from simulator.agent.handlers import (
    MessageFailure,
    handle_add,
    handle_delete,
    handle_get,
    handle_get_instances,
    handle_get_plain,
    handle_get_supported_dm,
    handle_get_supported_protocol,
    handle_operate,
    handle_set,
)
from simulator.usp.errors import ErrorCode, RecordNotParsedError, UspError
from simulator.usp.fastwire import GetRecord, parse_get_record
from simulator.usp.messages import (
    MessageDecodeError,
    Msg,
    MsgType,
    decode_msg,
    decode_record_msg,
    get_resp_record,
)
from simulator.usp.records import (
    MQTTVersion,
    PayloadSecurity,
    RecordKind,
    encode_disconnect,
    encode_mqtt_connect,
    encode_stomp_connect,
    encode_uds_connect,
    encode_websocket_connect,
)
from simulator.usp.requests import (
    Add,
    Delete,
    Deregister,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Notify,
    Operate,
    Register,
    Set,
)
from simulator.usp.responses import ErrorMessage, NotifyResp

if TYPE_CHECKING:
    from simulator.datamodel.editing import DataModel
    from simulator.datamodel.store import Change

__all__ = ["Agent", "Behaviour", "BehaviourFactory"]

_REQUEST_TYPES = frozenset({
    MsgType.GET, MsgType.SET, MsgType.ADD, MsgType.DELETE, MsgType.OPERATE, MsgType.GET_SUPPORTED_DM,
    MsgType.GET_INSTANCES, MsgType.GET_SUPPORTED_PROTO, MsgType.NOTIFY, MsgType.REGISTER, MsgType.DEREGISTER,
})
_AGENT_ONLY = (Notify, Register, Deregister)  # requests only agents send: 7002 from a controller [obuspa]
_HANDLERS: dict[type, Callable[..., Any]] = {
    Get: handle_get, Set: handle_set, Add: handle_add, Delete: handle_delete,
    GetInstances: handle_get_instances, GetSupportedDM: handle_get_supported_dm,
}
_CONTROLLER_PREFIX = "Device.LocalAgent.Controller."
_TRUST_PREFIX = "Device.LocalAgent.ControllerTrust."


class Behaviour(Protocol):
    """What ``simulator.agent.behaviour.AgentBehaviour`` provides (notifications, commands, timers)."""

    def on_start(self, now: float) -> list[Action]: ...
    def on_mtp_up(self, controller_id: str, now: float) -> list[Action]: ...
    def on_changes(self, changes: list[Change], now: float) -> list[Action]: ...
    def handle_operate(self, controller_id: str, msg_id: str, operate: Operate, reply_to: str | None,
                       now: float) -> list[Action]: ...
    def on_notify_resp(self, msg_id: str, now: float) -> list[Action]: ...
    def http_result(self, profile: str, ok: bool, now: float) -> list[Action]: ...
    def fire(self, timer: Timer, now: float) -> list[Action]: ...
    def poll(self, now: float) -> list[Action]: ...


BehaviourFactory = Callable[[AgentContext], Behaviour]
"""Builds the behaviour module of one agent from its context."""


def _default_behaviour() -> BehaviourFactory | None:
    if importlib.util.find_spec("simulator.agent.behaviour") is None:
        return None
    module = importlib.import_module("simulator.agent.behaviour")
    factory: BehaviourFactory = module.AgentBehaviour
    return factory


def _drop(reason: str) -> list[Action]:
    return [Observe("dropped_record", "", 1.0, 0, (("reason", reason),))]


class Agent:
    """One virtual USP agent (sans-I/O): feed it Records and time, execute the Actions it returns.

    Attributes:
        ctx: the AgentContext (config, data model, Record helpers) shared with the behaviour module.
        behaviour: the notification/command behaviour, or None (Operate then uses the built-in answer).
    """

    __slots__ = ("behaviour", "ctx")

    def __init__(self, config: AgentConfig, datamodel: DataModel,
                 behaviour: BehaviourFactory | bool | None = True) -> None:
        """Create the agent.

        Args:
            config: static configuration (endpoint ID, limits, obuspa strictness switches).
            datamodel: this agent's DataModel facade (its store holds the agent's values).
            behaviour: a factory ``f(ctx) -> Behaviour``; True (default) uses
                ``simulator.agent.behaviour.AgentBehaviour`` when that module exists; False/None disables it.
        """
        self.ctx = AgentContext(config, datamodel)
        factory = _default_behaviour() if behaviour is True else (behaviour or None)
        self.behaviour: Behaviour | None = factory(self.ctx) if callable(factory) else None

    @property
    def endpoint_id(self) -> str:
        """Our EndpointID."""
        return self.ctx.endpoint_id

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self, now: float) -> list[Action]:
        """The agent (re)boots: behaviour start-up (subscription clean-up, timers); no traffic yet."""
        self.ctx.now = now
        out = self.behaviour.on_start(now) if self.behaviour is not None else []
        return self._after(out, now)

    def connect_record(self, controller_id: str, mtp_kind: str = "mqtt",
                       mqtt_version: MQTTVersion | int = MQTTVersion.V5, subscribed_topic: str = "") -> bytes:
        """The Connect Record to send first on a new MTP connection to ``controller_id`` (R-MTP.6).

        Args:
            controller_id: the controller's EndpointID.
            mtp_kind: "mqtt", "websocket", "stomp" or "uds".
            mqtt_version: MQTTConnectRecord.version (MQTT only).
            subscribed_topic: our reply-to topic (MQTT) or subscribed destination (STOMP).

        Returns:
            The encoded Record.
        """
        version, me = self.ctx.config.record_version, self.ctx.endpoint_id
        if mtp_kind == "mqtt":
            return encode_mqtt_connect(version, controller_id, me, mqtt_version, subscribed_topic)
        if mtp_kind == "websocket":
            return encode_websocket_connect(version, controller_id, me)
        if mtp_kind == "stomp":
            return encode_stomp_connect(version, controller_id, me, subscribed_topic)
        if mtp_kind == "uds":
            return encode_uds_connect(version, controller_id, me)
        msg = f"unknown MTP kind {mtp_kind!r}"
        raise ValueError(msg)

    def controller_ids(self) -> list[str]:
        """EndpointIDs of the enabled Device.LocalAgent.Controller rows, in instance order."""
        ctx = self.ctx
        return [r.endpoint_id for r in ctx.controllers() if ctx.value(r.path + "Enable") in ("true", "1")]

    def mtp_connected(self, now: float, controller_id: str | None = None, *, mtp_kind: str = "mqtt",
                      mqtt_version: MQTTVersion | int = MQTTVersion.V5,
                      subscribed_topic: str = "") -> list[Action]:
        """The MTP is up: send the Connect Record(s), then let the behaviour send Boot!/schedule Periodic!.

        Args:
            now: epoch seconds.
            controller_id: the controller reached; None means every enabled controller row.
            mtp_kind: "mqtt", "websocket", "stomp" or "uds" (picks the Connect Record type).
            mqtt_version: MQTT protocol version in use.
            subscribed_topic: our reply-to topic / destination.

        Returns:
            Send(Connect) per controller, followed by the behaviour's actions.
        """
        self.ctx.now = now
        targets = [controller_id] if controller_id is not None else self.controller_ids()
        out: list[Action] = []
        for cid in targets:
            out.append(Send(cid, self.connect_record(cid, mtp_kind, mqtt_version, subscribed_topic), None,
                            "Connect"))
            if self.behaviour is not None:
                out += self.behaviour.on_mtp_up(cid, now)
        return self._after(out, now)

    def fire(self, timer: Timer, now: float) -> list[Action]:
        """A timer scheduled through ``Schedule`` is due."""
        self.ctx.now = now
        out = self.behaviour.fire(timer, now) if self.behaviour is not None else []
        return self._after(out, now)

    def poll(self, now: float) -> list[Action]:
        """Periodic ValueChange polling (obuspa polls every 15 s); the driver calls it on its own timer."""
        self.ctx.now = now
        out = self.behaviour.poll(now) if self.behaviour is not None else []
        return self._after(out, now)

    def http_result(self, profile: str, ok: bool, now: float) -> list[Action]:
        """The outcome of an ``HttpPost`` bulk-data report (the driver calls it once per HttpPost).

        Args:
            profile: ``HttpPost.profile`` (e.g. "Device.BulkData.Profile.1").
            ok: True for a 2xx answer; False for any other status, a connection error or a timeout.
            now: epoch seconds.

        Returns:
            On failure with HTTP.RetryEnable: a Schedule of the retry (``Agent.fire`` then re-posts the
            identical report), while it falls before the next reporting time; otherwise the report is
            kept per NumberOfRetainedFailedReports and sent with the next one. Plus an Observe
            ("bulkdata_http", error 0/1).
        """
        self.ctx.now = now
        out = self.behaviour.http_result(profile, ok, now) if self.behaviour is not None else []
        return self._after(out, now)

    def stop(self, now: float, reason: str = "shutdown") -> list[Action]:
        """Orderly shutdown: a DisconnectRecord to every enabled controller (R-MTP.7)."""
        self.ctx.now = now
        version, me = self.ctx.config.record_version, self.ctx.endpoint_id
        return [Send(cid, encode_disconnect(version, cid, me, reason, 0), None, "Disconnect")
                for cid in self.controller_ids()]

    def _after(self, out: list[Action], now: float) -> list[Action]:
        changes = self.ctx.datamodel.drain_changes()
        while changes:
            ctx = self.ctx
            for change in changes:
                path = change.path
                if path.startswith(_CONTROLLER_PREFIX):
                    ctx.invalidate_controllers()
                elif path.startswith(_TRUST_PREFIX):
                    ctx.invalidate_permissions()
            if self.behaviour is None:
                break
            out += self.behaviour.on_changes(changes, now)
            changes = self.ctx.datamodel.drain_changes()
        return out

    # -- receive pipeline (usp-protocol.md 1.4) -------------------------------------------------------------
    def receive(self, data: bytes, now: float, reply_to: str | None = None) -> list[Action]:
        """Process one received Record.

        Args:
            data: the MTP payload (one serialised Record).
            now: epoch seconds.
            reply_to: the MTP return path of this frame (MQTT response topic, WebSocket session...).

        Returns:
            The actions: the response Send (echoing msg_id, to the sender, with ``reply_to``), behaviour
            actions, and Observe metrics. A dropped Record yields only Observe actions.
        """
        ctx = self.ctx
        ctx.now = now
        if len(data) > ctx.config.max_message_bytes:
            return _drop("oversized")
        get = parse_get_record(data)  # the common case, without protobuf or Record/Msg objects
        if get is not None:
            return self._get(get, reply_to, now)
        try:
            record, msg = decode_record_msg(data)  # one protobuf parse in the common case
        except RecordNotParsedError:
            return _drop("not_parsed")
        sender = record.from_id
        refused = self._refuse(record.to_id, sender, reply_to)
        if refused is not None:
            return refused
        kind = record.kind
        if kind is not RecordKind.NO_SESSION_CONTEXT:
            return self._other_record(record.kind, record.payload_security, sender, reply_to)
        if record.payload_security != PayloadSecurity.PLAINTEXT:
            return self._disconnect(sender, reply_to, ErrorCode.INVALID_RECORD_VALUE,
                                    "Only PLAINTEXT payload_security is supported")
        if msg is None:
            if not record.payload:
                return _drop("empty_payload")
            try:
                msg = decode_msg(record.payload)
            except MessageDecodeError:
                return _drop("msg_not_parsed")
        if not msg.msg_id:
            return _drop("no_msg_id")
        return self._on_msg(msg, sender, reply_to, now)

    def _refuse(self, to_id: str, sender: str, reply_to: str | None) -> list[Action] | None:
        """The drop of a Record not for us, or from a sender we do not answer; None to go on."""
        ctx = self.ctx
        me = ctx.endpoint_id
        if to_id != me:
            return _drop("to_id")  # TP-469 2.2
        if not sender or sender == me:
            return _drop("from_id")  # TP-469 2.1
        cfg = ctx.config
        if cfg.require_known_controller:
            row = ctx.controller_for(sender)
            if row is None:
                if not cfg.accept_unknown_controllers or (reply_to is None and cfg.require_reply_path):
                    return _drop("unknown_controller")
                return None if self._adopt(sender) else _drop("unknown_controller")
            if reply_to is None and cfg.require_reply_path and not self._has_mtp(row.instance):
                return _drop("no_reply_path")
        return None

    def _adopt(self, sender: str) -> bool:
        """Add a Controller row for an unknown sender, AssignedRole = ControllerTrust.UntrustedRole (9.4).

        TP-469 2.9. Only with ``AgentConfig.accept_unknown_controllers``. The row is enabled, has no MTP
        (answers go back on the request's reply-to) and gets exactly the UntrustedRole; without an
        UntrustedRole (or when the table is full) the Record is dropped as obuspa does, since a row
        without a role would mean full access.
        """
        ctx = self.ctx
        role = ctx.value("Device.LocalAgent.ControllerTrust.UntrustedRole") or ""
        if not role:
            return False
        try:
            ctx.datamodel.add("Device.LocalAgent.Controller.",
                              {"EndpointID": sender, "Enable": "true", "AssignedRole": role}, now=ctx.now)
        except UspError:
            return False
        ctx.invalidate_controllers()
        return True

    def _get(self, get: GetRecord, reply_to: str | None, now: float) -> list[Action]:
        """A canonical Get request Record (``parse_get_record``): the checks of ``receive``, then the answer.

        Such a Record is a PLAINTEXT no_session_context one whose Msg header says GET, so only the
        endpoint checks, the msg_id check and the Get itself remain.
        """
        _, to_id, sender, msg_id, paths, depth, _, _ = get
        refused = self._refuse(to_id, sender, reply_to)
        if refused is not None:
            return refused
        if not msg_id:
            return _drop("no_msg_id")
        ctx = self.ctx
        body = Get(paths, depth)
        try:
            ctx.requester_id = sender
            results = handle_get_plain(ctx, body, ctx.permissions(sender))
            record = get_resp_record(ctx.config.record_version, sender, ctx.endpoint_id, msg_id, results)
        except Exception:  # a read has no side effect: redo it with the full error handling
            return self._dispatch(Msg(msg_id, MsgType.GET, body), body, sender, reply_to, now, "Get")
        return self._after([Send(sender, record, reply_to, "GetResp"), _OK_GET], now)

    def _has_mtp(self, instance: int) -> bool:
        table = self.ctx.schema.lookup("Device.LocalAgent.Controller.{i}.MTP.{i}.")
        return table is not None and bool(self.ctx.store.instances(table, (instance,)))  # type: ignore[arg-type]

    def _other_record(self, kind: RecordKind, security: int, sender: str,
                      reply_to: str | None) -> list[Action]:
        if kind is RecordKind.SESSION_CONTEXT:
            if security == PayloadSecurity.TLS12:
                return self._disconnect(sender, reply_to, ErrorCode.SECURE_SESSION_NOT_SUPPORTED,
                                        "E2E TLS is not supported")
            return self._disconnect(sender, reply_to, ErrorCode.SESSION_CONTEXT_NOT_ALLOWED,
                                    "Session context is not supported")  # R-E2E.6a
        if kind is RecordKind.DISCONNECT:
            return [Observe("record", "Disconnect")]  # no E2E session state to clear
        if kind is RecordKind.NONE:
            return _drop("no_record_type")
        return [Observe("record", "Connect")]  # [obuspa] Connect Records from a controller are ignored

    def _disconnect(self, sender: str, reply_to: str | None, code: ErrorCode, reason: str) -> list[Action]:
        record = encode_disconnect(self.ctx.config.record_version, sender, self.ctx.endpoint_id, reason, code)
        return [Send(sender, record, reply_to, "Disconnect"),
                Observe("record_error", "Disconnect", 1.0, int(code))]

    def _on_msg(self, msg: Msg, sender: str, reply_to: str | None, now: float) -> list[Action]:
        body = msg.body
        cfg = self.ctx.config
        if body is None or not msg.consistent:
            if body is not None and not isinstance(body, _REQUEST_BODIES):
                return self._on_response(msg, now)  # responses and Errors are never answered
            if body is None and msg.msg_type not in _REQUEST_TYPES:
                return _drop("empty_body")
            # R-MSG.10 / [obuspa]: empty or header-inconsistent request body -> Error (7001 by default)
            text = "Message body is empty" if body is None else "Header msg_type does not match the body"
            return self._answer(msg, sender, reply_to, ErrorMessage(cfg.empty_body_error, text), "Unknown")
        name = _REQUEST_NAMES.get(type(body))
        if name is None:
            return self._on_response(msg, now)
        if name in _AGENT_ONLY_NAMES:
            err = ErrorMessage(int(ErrorCode.REQUEST_DENIED), f"{name} is not accepted from a Controller")
            return self._answer(msg, sender, reply_to, err, name)
        return self._dispatch(msg, body, sender, reply_to, now, name)

    def _on_response(self, msg: Msg, now: float) -> list[Action]:
        body = msg.body
        if isinstance(body, ErrorMessage):
            return [Observe("error_received", "Error", 1.0, body.err_code)]  # R-MTP.5: never answered
        if isinstance(body, NotifyResp):
            out: list[Action] = [Observe("notify_resp", "NotifyResp", 0.0)]
            if self.behaviour is not None:
                out += self.behaviour.on_notify_resp(msg.msg_id, now)
            return self._after(out, now)
        return _drop("unexpected_response")

    def _dispatch(self, msg: Msg, body: Any, sender: str, reply_to: str | None, now: float,  # noqa: PLR0917
                  name: str) -> list[Action]:
        ctx = self.ctx
        out: list[Action] = []
        try:
            ctx.requester_id = sender
            perms = ctx.permissions(sender)
            if type(body) is Get:  # hot path: plain results straight into one Record serialise
                cfg = ctx.config
                record = get_resp_record(cfg.record_version, sender, ctx.endpoint_id, msg.msg_id,
                                         handle_get_plain(ctx, body, perms))
                return self._after([Send(sender, record, reply_to, "GetResp"), _OK_GET], now)
            if type(body) is Operate:
                if self.behaviour is not None:
                    out = self.behaviour.handle_operate(sender, msg.msg_id, body, reply_to, now)
                    out.append(Observe("request", name, 0.0, 0))
                    return self._after(out, now)
                resp: Any = handle_operate(ctx, body, perms)
                if not body.send_resp:
                    return self._after([Observe("request", name, 0.0, 0)], now)
            elif type(body) is GetSupportedProtocol:
                resp = handle_get_supported_protocol(ctx, body)
            else:
                resp = _HANDLERS[type(body)](ctx, body, perms)
        except MessageFailure as exc:
            resp = exc.error
        except UspError as exc:
            resp = ErrorMessage(exc.code, exc.message)
        except Exception as exc:
            out = self._answer(msg, sender, reply_to, ErrorMessage(int(ErrorCode.INTERNAL_ERROR),
                                                                   "Internal error"), name)
            out.append(Observe("internal_error", name, 1.0, int(ErrorCode.INTERNAL_ERROR),
                               (("exception", type(exc).__name__),)))
            if ctx.config.strict:
                raise
            return self._after(out, now)
        return self._after(self._answer(msg, sender, reply_to, resp, name), now)

    def _answer(self, msg: Msg, sender: str, reply_to: str | None, resp: Any, name: str) -> list[Action]:
        reply = Msg.of(msg.msg_id, resp)
        error = resp.err_code if type(resp) is ErrorMessage else 0
        kind = "Error" if error else type(resp).__name__
        observe = _OK.get(name) if not error else None
        if observe is None:
            observe = Observe("request", name, 0.0, error)
        return [Send(sender, self.ctx.build_record(sender, reply), reply_to, kind), observe]


_REQUEST_BODIES = (Get, Set, Add, Delete, Operate, GetSupportedDM, GetInstances, GetSupportedProtocol,
                   Notify, Register, Deregister)
_REQUEST_NAMES: dict[type, str] = {t: t.__name__ for t in _REQUEST_BODIES}
"""Request body class -> metrics name (one dict lookup instead of an isinstance chain)."""
_AGENT_ONLY_NAMES = frozenset(t.__name__ for t in _AGENT_ONLY)
_OK: dict[str, Observe] = {name: Observe("request", name, 0.0, 0) for name in _REQUEST_NAMES.values()}
"""Shared (frozen) success observations: no allocation per answered request."""
_OK_GET = _OK["Get"]
