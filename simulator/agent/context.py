"""What every agent behaviour module sees: the agent's configuration, data model and Record helpers.

# Strategy: one ``AgentContext`` per Agent, shared by the request handlers, the access checker and the
# notification/command behaviour (``behaviour.py``). It holds references only (config, data model,
# store) plus three small mutable values (msg_id counter, controller cache, current time), so an idle
# agent stays tiny. Controller rows are found through a lazily built EndpointID -> instance map that the
# Agent invalidates whenever a change under ``Device.LocalAgent.Controller.`` is drained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.agent.access import Permissions, permissions_for
from simulator.agent.actions import Send
from simulator.datamodel.schema import ParamNode
from simulator.datamodel.types import format_datetime
from simulator.usp.messages import Msg, encode_record_msg
from simulator.usp.records import DEFAULT_RECORD_VERSION, DEFAULT_SUPPORTED_VERSIONS

if TYPE_CHECKING:
    from simulator.datamodel.editing import DataModel
    from simulator.datamodel.schema import Schema
    from simulator.datamodel.store import InstanceStore

__all__ = ["AgentConfig", "AgentContext", "ControllerRef", "iso8601"]

CONTROLLER_TABLE = "Device.LocalAgent.Controller.{i}."
"""Supported path of the Controller table (keys EndpointID, Alias)."""


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Static, per-agent configuration (shared freely: frozen, no data model values).

    Attributes:
        endpoint_id: our USP EndpointID (Record to_id of everything we accept, from_id of what we send).
        record_version: Record.version we put on every Record we send (obuspa: "1.3").
        supported_versions: GetSupportedProtocolResp.agent_supported_protocol_versions.
        data_model_inst_uri: GetSupportedDMResp.data_model_inst_uri; "" means the schema's ``uri``.
        max_value_chars: longest parameter value accepted in Set/Add/Operate (R-DM: at least 4096).
        max_message_bytes: larger received Records are dropped with an Observe (5 MB, TP-469 1.x).
        max_instance_depth: instance numbers per path the agent supports (TR-369 requires >= 6).
        require_known_controller: [obuspa] drop Records whose from_id is not a configured
            Device.LocalAgent.Controller.{i}.EndpointID (usp-protocol.md 1.4 step 2).
        require_reply_path: [obuspa] drop Records that have neither an MTP reply_to nor a
            controller MTP row to answer on (agent-initiated fallback).
        accept_unknown_controllers: TP-469 2.9 / usp-protocol.md 9.4: a Record from an unknown
            EndpointID (with a reply-to) adds an enabled Controller row whose AssignedRole is
            ControllerTrust.UntrustedRole, and is then answered with that role's permissions.
            Default False: obuspa drops such Records (pipeline step 3).
        empty_body_error: error code answered when the Msg body oneof is empty or does not match
            the header msg_type (R-MSG.10). obuspa answers 7001; the digest recommends the same.
        strict: re-raise unexpected exceptions from ``Agent.receive`` (tests set it to catch bugs).
    """

    endpoint_id: str
    record_version: str = DEFAULT_RECORD_VERSION
    supported_versions: str = DEFAULT_SUPPORTED_VERSIONS
    data_model_inst_uri: str = ""
    max_value_chars: int = 4096
    max_message_bytes: int = 5 * 1024 * 1024
    max_instance_depth: int = 6
    require_known_controller: bool = True
    require_reply_path: bool = True
    accept_unknown_controllers: bool = False
    empty_body_error: int = 7001
    strict: bool = False


@dataclass(frozen=True, slots=True)
class ControllerRef:
    """One row of Device.LocalAgent.Controller.{i}.

    Attributes:
        endpoint_id: the row's EndpointID.
        instance: the row's instance number ``i``.
        path: the row's instance path, e.g. "Device.LocalAgent.Controller.1." (trailing dot).
    """

    endpoint_id: str
    instance: int
    path: str


def iso8601(now: float) -> str:
    """Format epoch seconds as the UTC dateTime text TR-181 uses (``2024-05-01T12:00:00Z``).

    Args:
        now: seconds since the epoch.

    Returns:
        The timestamp text (whole seconds).
    """
    return format_datetime(now)


class AgentContext:
    """The services an Agent hands to its handlers and behaviour modules.

    Time: every ``now`` is seconds since the epoch, passed in by the driver (the datamodel generators
    use the same clock). ``ctx.now`` holds the value of the call being processed.

    Attributes:
        config: the AgentConfig.
        endpoint_id: ``config.endpoint_id``.
        store: the agent's InstanceStore (values, instance sets, change log).
        schema: the shared Schema (``store.schema``).
        datamodel: the per-agent data model facade (simulator.datamodel.editing.DataModel:
            get/set/add/delete/instances/supported/commands/transaction/drain_changes).
        now: the time of the call in progress (epoch seconds).
        requester_id: EndpointID of the Controller whose request is being handled; ``requester`` is its
            row (obuspa MSG_HANDLER_GetMsgControllerInstance), from which Subscription Add fills Recipient.

    Usage by behaviour modules::

        row = ctx.controller_for("proto::ctrl")          # ControllerRef | None
        perms = ctx.permissions("proto::ctrl")            # Permissions (.hook, .may, .notify_allowed)
        mid = ctx.next_msg_id("Boot!")                    # "Boot!-2024-05-01T12:00:00Z-1"
        send = ctx.send(row.endpoint_id, Msg.of(mid, notify), msg_type="Notify:Boot!")
        value = ctx.value("Device.LocalAgent.Controller.1.PeriodicNotifInterval")
    """

    __slots__ = ("_controllers", "_msg_counter", "_paths", "_perms", "config", "datamodel", "endpoint_id",
                 "now", "requester_id", "schema", "store")

    def __init__(self, config: AgentConfig, datamodel: DataModel) -> None:
        self.config = config
        self.endpoint_id = config.endpoint_id
        self.datamodel = datamodel
        self.store: InstanceStore = datamodel.store
        self.schema: Schema = datamodel.schema
        self.now = 0.0
        self.requester_id = ""
        """EndpointID of the Controller whose request is being handled ("" outside requests)."""
        self._msg_counter = 0
        self._controllers: dict[str, ControllerRef] | None = None
        self._perms: dict[str, Permissions] | None = None  # created on the first request (lazy)
        self._paths = _shared(self.schema)

    @property
    def requester(self) -> ControllerRef | None:
        """The Controller row of the request being handled (None outside requests or for unknown senders)."""
        return self.controller_for(self.requester_id) if self.requester_id else None

    # -- records ----------------------------------------------------------------------------------------
    def build_record(self, to_id: str, msg: Msg) -> bytes:
        """Encode ``msg`` in a no_session_context Record from us to ``to_id``.

        Args:
            to_id: the controller's EndpointID.
            msg: the message.

        Returns:
            The serialised Record.
        """
        return encode_record_msg(self.config.record_version, to_id, self.endpoint_id, msg)  # one serialise

    def send(self, to_id: str, msg: Msg, reply_to: str | None = None, msg_type: str = "") -> Send:
        """A Send action carrying ``msg`` to ``to_id``.

        Args:
            to_id: the controller's EndpointID.
            msg: the message.
            reply_to: the request's MTP return path, or None for agent-initiated traffic.
            msg_type: metrics name; defaults to the body's MsgType name ("GET_RESP" -> "GetResp" style
                is left to the caller; the default is the enum name).

        Returns:
            The Send action.
        """
        if not msg_type:
            mt = msg.msg_type
            msg_type = getattr(mt, "name", str(mt))
        return Send(to_id, self.build_record(to_id, msg), reply_to, msg_type)

    def next_msg_id(self, prefix: str, now: float | None = None) -> str:
        """A msg_id for an agent-initiated message, unique across reboots (obuspa style).

        Args:
            prefix: the notification type or message kind, e.g. "Boot!", "ValueChange", "Register".
            now: epoch seconds for the time text; defaults to ``self.now``.

        Returns:
            ``<prefix>-<ISO8601 time>-<counter>``; the counter restarts at 1 per agent start while the
            time text moves on, so ids never repeat across reboots.
        """
        self._msg_counter += 1
        return f"{prefix}-{iso8601(self.now if now is None else now)}-{self._msg_counter}"

    # -- data model helpers -------------------------------------------------------------------------------
    def value(self, path: str) -> str | None:
        """Read one instantiated parameter path (no wildcards) at ``self.now``; None when absent.

        Args:
            path: e.g. "Device.LocalAgent.Controller.1.EndpointID".

        Returns:
            The value text, or None when the parameter or its instance does not exist.
        """
        found = self.locate_param(path)
        if found is None:
            return None
        node, inst = found
        return self.store.read(node, inst, self.now)

    def locate_param(self, path: str) -> tuple[ParamNode, tuple[int, ...]] | None:
        """Split an instantiated parameter path into its schema node and instance numbers.

        Args:
            path: an instance-number parameter path (no aliases, wildcards or searches).

        Returns:
            (ParamNode, instances) when the parameter is supported and its object instance exists.
        """
        located = self._paths.located
        try:
            found = located[path]
        except KeyError:
            found = _parse_param_path(self.schema, path)
            if len(located) >= _MAX_PATHS:
                located.clear()
            located[path] = found
        if found is None or not self.store.exists(found[0].obj, found[1]):  # type: ignore[arg-type]
            return None
        return found

    def controller_for(self, endpoint_id: str) -> ControllerRef | None:
        """The Device.LocalAgent.Controller.{i}. row whose EndpointID is ``endpoint_id``.

        Args:
            endpoint_id: a controller EndpointID.

        Returns:
            The row, or None when no row carries that EndpointID.
        """
        rows = self._controllers
        if rows is None:
            rows = self._controllers = self._scan_controllers()
        return rows.get(endpoint_id)

    def controllers(self) -> list[ControllerRef]:
        """Every Controller row, in instance order."""
        if self._controllers is None:
            self._controllers = self._scan_controllers()
        return sorted(self._controllers.values(), key=lambda r: r.instance)

    def invalidate_controllers(self) -> None:
        """Forget the cached EndpointID map and permissions (the Controller table changed)."""
        self._controllers = None
        self._perms = None

    def invalidate_permissions(self) -> None:
        """Forget every cached permission checker (ControllerTrust changed)."""
        self._perms = None

    def permissions(self, endpoint_id: str) -> Permissions:
        """The ControllerTrust permission checker of a controller (cached; see access.py).

        Args:
            endpoint_id: the controller's EndpointID.

        Returns:
            Its Permissions: ``.hook`` for the data model (None = full access), ``.may(node, inst, perm)``
            and ``.notify_allowed(node, inst, notif_type)`` for the 'n' bit.
        """
        cache = self._perms
        if cache is None:
            cache = self._perms = {}
        perms = cache.get(endpoint_id)
        if perms is None:
            if len(cache) > 64:
                cache.clear()
            shared = self._paths
            if shared.trust_is_static and self.store.pristine:
                # An agent still reading its profile unchanged gets the same checker as every other
                # such agent of this Schema (a Permissions holds no agent reference): build it once.
                perms = shared.permissions.get(endpoint_id)
                if perms is None:
                    if len(shared.permissions) > 64:
                        shared.permissions.clear()
                    perms = shared.permissions[endpoint_id] = permissions_for(self, endpoint_id)
            else:
                perms = permissions_for(self, endpoint_id)
            cache[endpoint_id] = perms
        return perms

    def _scan_controllers(self) -> dict[str, ControllerRef]:
        table = self.schema.lookup(CONTROLLER_TABLE)
        param = self.schema.lookup(CONTROLLER_TABLE + "EndpointID")
        rows: dict[str, ControllerRef] = {}
        if table is None or param is None:
            return rows
        for number in self.store.instances(table, ()):  # type: ignore[arg-type]
            eid = self.store.read(param, (number,), self.now)  # type: ignore[arg-type]
            if eid and eid not in rows:
                rows[eid] = ControllerRef(eid, number, f"Device.LocalAgent.Controller.{number}.")
        return rows


# -- per-Schema caches ----------------------------------------------------------------------------------
# Strategy: what only depends on the (immutable, shared) Schema is computed once per Schema and shared by
# every agent over it: the split of an instance-number parameter path into (node, instances) (the
# per-agent part, "does that instance exist here", is still checked per call), and the permission
# checkers of agents whose store is still pristine (no override, no instance change) when the profile's
# Controller/ControllerTrust values are plain strings (no persona- or time-dependent generator).

_MAX_PATHS = 8192
"""Bound of one Schema's path cache (paths with growing instance numbers must not grow it forever)."""
_MAX_SCHEMAS = 64
_TRUST_PREFIXES = ("Device.LocalAgent.Controller.", "Device.LocalAgent.ControllerTrust.")


class _SchemaShared:
    __slots__ = ("located", "permissions", "trust_is_static")

    def __init__(self, schema: Schema) -> None:
        self.located: dict[str, tuple[ParamNode, tuple[int, ...]] | None] = {}
        self.permissions: dict[str, Permissions] = {}
        nodes = schema.nodes
        self.trust_is_static = all(
            value.__class__ is str or not nodes[pid].path.startswith(_TRUST_PREFIXES)
            for (pid, _inst), value in schema.initial_values.items()
        )


_SHARED: dict[Schema, _SchemaShared] = {}
"""Schema -> its shared caches (holds the Schema: bounded, and no id() reuse after a Schema is freed)."""


def _shared(schema: Schema) -> _SchemaShared:
    shared = _SHARED.get(schema)
    if shared is None:
        if len(_SHARED) >= _MAX_SCHEMAS:
            _SHARED.clear()
        shared = _SHARED[schema] = _SchemaShared(schema)
    return shared


def _parse_param_path(schema: Schema, path: str) -> tuple[ParamNode, tuple[int, ...]] | None:
    """(ParamNode, instances) of an instance-number parameter path, from the Schema alone."""
    inst: list[int] = []
    names: list[str] = []
    for part in path.split("."):
        if part.isdigit():
            inst.append(int(part))
            names.append("{i}")
        else:
            names.append(part)
    node = schema.lookup(".".join(names))
    if not isinstance(node, ParamNode) or node.obj is None or node.obj.depth != len(inst):
        return None
    return node, tuple(inst)
