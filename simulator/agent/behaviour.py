"""The agent's behaviour facade: subscriptions -> Notify, Boot!/Periodic!, Operate and commands, Bulk Data.

# Strategy: one ``AgentBehaviour`` per agent, kept across reboots (it remembers why the agent booted).
# The Agent calls it with changes it drained, timers it was handed back and Operate requests; every
# method returns actions and never touches I/O. Subscription rows are read lazily and cached until a
# change under Subscription/Controller invalidates them. Side effects of commands that must follow the
# OperateResp on the wire (events, reconnects, the reboot itself) are queued in ``_after`` and appended
# after the response. A reboot is applied at once: retries, timers and running commands stop,
# non-persistent subscriptions and Request rows go (a factory reset restores the profile), and the next
# ``on_mtp_up`` sends Boot! with the remembered Cause/CommandKey before anything else (obuspa).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, cast

from simulator.agent import commands as _commands  # noqa: F401  (fills operate.REGISTRY)
from simulator.agent.actions import (
    Action,
    CancelTimer,
    Connect,
    Disconnect,
    MqttPublish,
    Observe,
    Schedule,
    Timer,
)
from simulator.agent.bulkdata import (
    BULKDATA_RETRY_TIMER,
    BULKDATA_TIMER,
    HttpDelivery,
    build_report,
    enabled_profiles,
    next_report_time,
)
from simulator.agent.commands.rows import delete_row, read, table_node
from simulator.agent.events import (
    BOOT_EVENT,
    PERIODIC_EVENT,
    BootCause,
    boot_event,
    next_periodic,
    onboard_request,
    periodic_event,
)
from simulator.agent.notifier import RETRY_TIMER, Notifier, notification_kind
from simulator.agent.operate import (
    COMMAND_TIMER,
    CommandOptions,
    Done,
    Failed,
    Later,
    Operations,
    supported_form,
)
from simulator.agent.subscriptions import Subscription, covers, load_subscriptions
from simulator.datamodel.access import Perm
from simulator.datamodel.store import Change, ChangeKind
from simulator.usp.errors import ErrorCode, UspError
from simulator.usp.messages import Msg
from simulator.usp.requests import (
    CommandFailure,
    Event,
    Notification,
    ObjectCreation,
    ObjectDeletion,
    Operate,
    OperationComplete,
    OutputArgs,
    ValueChange,
)
from simulator.usp.responses import ErrorMessage, OperateResp, OperationResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator.agent.context import AgentContext, ControllerRef

__all__ = ["AgentBehaviour"]

PERIODIC_TIMER = "periodic"
TTL_TIMER = "subscription-ttl"
POLL_TIMER = "vc-poll"
ONBOARD_TIMER = "onboard"
_SUB_PREFIX = "Device.LocalAgent.Subscription."
_CTRL_PREFIX = "Device.LocalAgent.Controller."
_CANCEL = "Device.LocalAgent.Request.{i}.Cancel()"
_PROFILE_PREFIX = "Device.BulkData.Profile."
TRANSFER_COMPLETE = "Device.LocalAgent.TransferComplete!"
_NOTIF = {ChangeKind.VALUE: "ValueChange", ChangeKind.CREATE: "ObjectCreation",
          ChangeKind.DELETE: "ObjectDeletion"}


class _LazyRandom:
    """``random.Random(seed)``, created on the first draw (the same sequence as an eager one)."""

    __slots__ = ("_rng", "_seed")

    def __init__(self, seed: Any) -> None:
        self._seed = seed
        self._rng: random.Random | None = None

    def __getattr__(self, name: str) -> Any:
        rng = self._rng
        if rng is None:
            rng = self._rng = random.Random(self._seed)
        return getattr(rng, name)


class AgentBehaviour:
    """Notifications, commands and Bulk Data of one agent (see the module docstring).

    Args:
        ctx: the agent context.
        rng: injected random source (retry jitter, failure rates); default seeded from the persona.
        options: command durations and failure rates.
        poll_period: ValueChange polling period for values that move by themselves (obuspa: 15 s).
        max_pending: cap on Notifies awaiting a NotifyResp.
        max_held: cap on Notifies held until a Controller is ready.
    """

    def __init__(self, ctx: AgentContext, *, rng: random.Random | None = None,
                 options: CommandOptions | None = None, poll_period: float = 15.0, max_pending: int = 64,
                 max_held: int = 64) -> None:
        self.ctx = ctx
        # A Random is ~2.5 KiB and most agents never draw: seed it from the persona on first use.
        self.rng = rng if rng is not None else cast(random.Random, _LazyRandom(ctx.store.persona.seed))
        self.options = options or CommandOptions()
        self.poll_period = poll_period
        self.notifier = Notifier(ctx, self.rng, max_pending=max_pending, max_held=max_held)
        self.ops = Operations(self)
        self.boot = BootCause()
        """Why the current boot happened (Boot! arguments)."""
        self._starts = 0
        self._restarted = False
        self._boot_sent: set[str] = set()
        self._subs: list[Subscription] | None = None
        self._ttl: dict[int, float] = {}
        self._periodic: dict[int, float] = {}
        self._bulk: dict[int, float] = {}
        self._polling = False
        self._vc: dict[str, str] = {}
        self._after: list[Action] = []
        self._reboot: tuple[BootCause, bool] | None = None
        self._configured: dict[int, float] = {}
        """Subscription instance -> last time its TriggerConfigSettings were applied."""
        self._http: HttpDelivery | None = None
        """HTTP bulk-data retries and retained reports (created with the first HTTP report)."""
        self._connecting: set[str] = set()
        """Controllers a ``Connect`` was asked for since the last start (TP-469 9.9)."""

    # -- subscriptions -------------------------------------------------------------------------------------
    @property
    def subscriptions(self) -> list[Subscription]:
        """The Subscription rows (cached until a change invalidates them)."""
        if self._subs is None:
            self._subs = load_subscriptions(self.ctx)
        return self._subs

    def _controller(self, recipient: str, disabling: str | None = None) -> ControllerRef | None:
        """The recipient's Controller row when enabled (or when it is ``disabling``, 5.3), else None."""
        eid = read(self.ctx, recipient + ".EndpointID")
        ref = self.ctx.controller_for(eid) if eid else None
        if ref is None or (read(self.ctx, ref.path + "Enable") != "true" and ref.path != disabling):
            return None
        return ref

    def _may_notify(self, ref: ControllerRef, notif_type: str, path: str) -> bool:
        """The recipient's 'n' permission on the notified element (9.4); without it the Notify is dropped."""
        perms = self.ctx.permissions(ref.endpoint_id)
        if perms.hook is None:
            return True  # full access: the common case costs one dict lookup
        parts = path.split(".")
        inst = tuple(int(p) for p in parts if p.isdigit())
        node = self.ctx.schema.lookup(".".join("{i}" if p.isdigit() else p for p in parts))
        return node is not None and perms.notify_allowed(node, inst, notif_type)

    def _send(self, sub: Subscription, ref: ControllerRef, notification: Notification, now: float,
              force: bool = False) -> list[Action]:
        return self.notifier.notify(
            ref.endpoint_id, sub.id, sub.notif_retry, notification, now, subscription=sub.instance,
            expiration=sub.notif_expiration, force=force,
            min_wait=float(read(self.ctx, ref.path + "USPNotifRetryMinimumWaitInterval", "5") or 5),
            multiplier=int(read(self.ctx, ref.path + "USPNotifRetryIntervalMultiplier", "2000") or 2000))

    def _dispatch(self, notif_type: str, path: str, notification: Notification, now: float,  # noqa: PLR0917
                  only: ControllerRef | None = None, disabling: str | None = None,
                  accept: Callable[[ControllerRef], bool] | None = None) -> list[Action]:
        """Trigger the matching subscriptions: Notify and/or apply TriggerConfigSettings (TriggerAction).

        ``disabling`` is the path of a Controller row whose Enable has just gone false: its subscriptions
        still get this one notification, its last message (usp-protocol.md 5.3). ``accept`` is a
        per-Controller filter (TransferCompletePolicy); a refused Controller gets no Notify.
        """
        out: list[Action] = []
        configure: list[tuple[Subscription, ControllerRef]] = []
        for sub in self.subscriptions:
            if not sub.enable or sub.notif_type != notif_type:
                continue
            if not any(covers(self.ctx, notif_type, ref, path) for ref in sub.refs):
                continue
            ref = self._controller(sub.recipient, disabling)
            if ref is None or (only is not None and ref.instance != only.instance):
                continue
            if sub.configures:
                configure.append((sub, ref))
            if not sub.notifies:
                continue
            if accept is not None and not accept(ref):
                out.append(Observe("notify_dropped", f"Notify:{notification_kind(notification)}",
                                   labels=(("reason", "policy"),)))
                continue
            if not self._may_notify(ref, notif_type, path):
                out.append(Observe("notify_dropped", f"Notify:{notification_kind(notification)}",
                                   labels=(("reason", "permission"),)))
                continue
            out += self._send(sub, ref, notification, now)
        for sub, ref in configure:
            out += self._apply_config(sub, ref, now)
        return out

    def _apply_config(self, sub: Subscription, ref: ControllerRef, now: float) -> list[Action]:
        """TriggerAction Config/NotifyAndConfig: apply TriggerConfigSettings (TP-469 1.93/1.94).

        Each ``Path=Value`` entry is a Set of one required parameter with the recipient Controller's
        permissions; a failing entry is skipped (Observe ``trigger_config_failed``). The changes are logged
        like any Set, so they notify other subscriptions in the next round. A subscription applies its
        settings at most once per instant, which bounds trigger cascades (A sets B sets A ...).
        """
        if self._configured.get(sub.instance) == now:
            return []
        self._configured[sub.instance] = now
        dm = self.ctx.datamodel
        hook = self.ctx.permissions(ref.endpoint_id).hook
        out: list[Action] = []
        for param_path, value in sub.trigger_config:
            obj_path, _, name = param_path.rpartition(".")
            try:
                dm.set(obj_path + ".", [(name, value, True)], now=now, access=hook)
            except UspError as exc:
                out.append(Observe("trigger_config_failed", "TriggerConfigSettings", error=int(exc.code)))
        return out

    def _event(self, obj_path: str, name: str, params: dict[str, str], now: float) -> list[Action]:
        # On the wire event_name keeps its "!" (TR-369 Notify.Event, obuspa: "Boot!", "Push!").
        path = f"{obj_path}{name}!"
        accept = self._transfer_policy(params) if path == TRANSFER_COMPLETE else None
        return self._dispatch("Event", path, Event(obj_path, f"{name}!", params), now, accept=accept)

    def _transfer_policy(self, params: dict[str, str]) -> Callable[[ControllerRef], bool]:
        """Controller.{i}.TransferCompletePolicy.ResultTypeFilter (Success | Failure | Both, default Both).

        FaultCode 0 is a success; a Controller whose filter names the other outcome gets no
        TransferComplete! (usp-protocol.md 5.7).
        """
        outcome = "Success" if params.get("FaultCode", "0") in ("0", "") else "Failure"

        def accept(ref: ControllerRef) -> bool:
            wanted = read(self.ctx, ref.path + "TransferCompletePolicy.ResultTypeFilter", "Both") or "Both"
            return wanted in ("Both", outcome)

        return accept

    # -- lifecycle -----------------------------------------------------------------------------------------
    def on_start(self, now: float) -> list[Action]:
        """Agent (re)start: clean-up after a restart the behaviour did not cause, then start timers."""
        if self._starts and not self._restarted:
            self._apply_restart(now, BootCause(), factory=False)
        self._restarted = False
        self._starts += 1
        return self._timers(now)

    def _timers(self, now: float) -> list[Action]:
        out: list[Action] = []
        for sub in self.subscriptions:
            if sub.time_to_live > 0 and sub.instance not in self._ttl:
                at = (sub.created if sub.created is not None else now) + sub.time_to_live
                self._ttl[sub.instance] = at
                out.append(Schedule(at, Timer(TTL_TIMER, (sub.instance,))))
        for number in enabled_profiles(self.ctx):
            if number not in self._bulk:
                at_ = next_report_time(self.ctx, number, now)
                if at_ is not None:
                    self._bulk[number] = at_
                    out.append(Schedule(at_, Timer(BULKDATA_TIMER, (number,))))
        if not self._polling and any(s.enable and s.notif_type == "ValueChange" for s in self.subscriptions):
            self._polling = True
            self.poll(now)  # baseline of dynamic values
            out.append(Schedule(now + self.poll_period, Timer(POLL_TIMER)))
        return out

    def on_mtp_up(self, controller_id: str, now: float) -> list[Action]:
        """MTP up towards a Controller: Boot! once per start, flush held Notifies, schedule Periodic!."""
        ref = self.ctx.controller_for(controller_id)
        if ref is None:
            return []
        out: list[Action] = []
        if controller_id not in self._boot_sent:
            self._boot_sent.add(controller_id)
            for sub in self.subscriptions:
                if (sub.enable and sub.notif_type == "Event" and sub.recipient + "." == ref.path
                        and any(covers(self.ctx, "Event", r, BOOT_EVENT) for r in sub.refs)
                        and self._may_notify(ref, "Event", BOOT_EVENT)):
                    out += self._send(sub, ref, boot_event(self.ctx, ref, self.boot, now), now, force=True)
        out += self.notifier.mark_ready(controller_id, now)
        out += self._schedule_periodic(ref, now)
        out += self._timers(now)
        return out

    def _schedule_periodic(self, ref: ControllerRef, now: float) -> list[Action]:
        at = next_periodic(self.ctx, ref, now)
        timer = Timer(PERIODIC_TIMER, (ref.instance,))
        out: list[Action] = [CancelTimer(timer)] if ref.instance in self._periodic else []
        if at is None:
            self._periodic.pop(ref.instance, None)
            return out
        self._periodic[ref.instance] = at
        return [*out, Schedule(at, timer)]

    # -- changes -------------------------------------------------------------------------------------------
    def on_changes(self, changes: list[Change], now: float) -> list[Action]:
        """Notify matching subscriptions of value changes, creations and deletions (own changes included)."""
        out: list[Action] = []
        for change in changes:
            path = change.path
            if path.startswith((_SUB_PREFIX, _CTRL_PREFIX)):
                self._subs = None
            if change.kind is ChangeKind.DELETE and path.startswith(_SUB_PREFIX):
                number = int(path[len(_SUB_PREFIX):].split(".")[0])
                out += self.notifier.forget_subscription(number)
                self._configured.pop(number, None)
                if self._ttl.pop(number, None) is not None:
                    out.append(CancelTimer(Timer(TTL_TIMER, (number,))))
        for change in changes:
            out += self._notify_change(change, now)
        cleared = {int(c.path[len(_SUB_PREFIX):].split(".")[0]) for c in changes
                   if c.kind is ChangeKind.VALUE and c.path.startswith(_SUB_PREFIX)
                   and c.path.endswith(".Recipient") and not c.value}
        for change in changes:
            path = change.path
            if change.kind is ChangeKind.DELETE and path.startswith(_CTRL_PREFIX) and path.count(".") == 4:
                self._drop_subscriptions_of(path.rstrip("."), cleared)  # TP 1.78; notified next round
            elif (change.kind is ChangeKind.VALUE and path.startswith(_CTRL_PREFIX)
                  and "PeriodicNotif" in path):
                number = int(path[len(_CTRL_PREFIX):].split(".")[0])
                ref = next((r for r in self.ctx.controllers() if r.instance == number), None)
                if ref is not None and ref.instance in self._periodic:
                    out += self._schedule_periodic(ref, now)
            elif path.startswith("Device.BulkData."):
                out += [CancelTimer(Timer(BULKDATA_TIMER, (n,))) for n in self._bulk]
                self._bulk.clear()
                out += self._bulk_change(change)
        if any(c.path.startswith((_SUB_PREFIX, "Device.BulkData.")) for c in changes):
            out += self._timers(now)
        out += self._new_controllers(changes)
        return out

    def _bulk_change(self, change: Change) -> list[Action]:
        """A deleted profile forgets its HTTP state; a new EncodingType drops retained reports (10)."""
        http = self._http
        path = change.path
        if http is None or not path.startswith(_PROFILE_PREFIX):
            return []
        number, _, rest = path[len(_PROFILE_PREFIX):].partition(".")
        if not number.isdigit():
            return []
        if change.kind is ChangeKind.DELETE and rest == "":
            return http.forget(int(number))
        if rest == "EncodingType":
            http.retained.pop(int(number), None)
        return []

    def _new_controllers(self, changes: list[Change]) -> list[Action]:
        """``Connect`` for Controller rows that became usable while running (TP-469 9.9, see actions.py).

        Usable: Enable=true, an EndpointID and an enabled MTP row; not yet connected since the start.
        """
        numbers = {int(n) for c in changes if c.path.startswith(_CTRL_PREFIX)
                   and (c.kind is ChangeKind.CREATE or c.path.endswith((".Enable", ".EndpointID")))
                   and (n := c.path[len(_CTRL_PREFIX):].partition(".")[0]).isdigit()}
        out: list[Action] = []
        for ref in self.ctx.controllers() if numbers else ():
            eid = ref.endpoint_id
            if (ref.instance not in numbers or eid in self._boot_sent or eid in self._connecting
                    or read(self.ctx, ref.path + "Enable") != "true"):
                continue
            mtps = table_node(self.ctx, "Device.LocalAgent.Controller.{i}.MTP.{i}.")
            if mtps is None or not any(read(self.ctx, f"{ref.path}MTP.{m}.Enable") == "true"
                                       for m in self.ctx.store.instances(mtps, (ref.instance,))):
                continue
            self._connecting.add(eid)
            out.append(Connect(eid))
        return out

    def _notify_change(self, change: Change, now: float) -> list[Action]:
        kind = _NOTIF[change.kind]
        if change.kind is ChangeKind.VALUE:
            path = change.path
            value = change.value if isinstance(change.value, str) else read(self.ctx, path)
            if path in self._vc:
                self._vc[path] = value
            disabled = self._disabled_controller(path, value)
            if disabled is None:
                return self._dispatch(kind, path, ValueChange(path, value), now)
            # 5.3: the Controller being disabled still gets this ValueChange, as its last message
            out = self._dispatch(kind, path, ValueChange(path, value), now, disabling=disabled.path)
            return out + self.notifier.forget_controller(disabled.endpoint_id)
        if change.kind is ChangeKind.CREATE:
            keys = dict(change.value) if isinstance(change.value, dict) else {}
            return self._dispatch(kind, change.path, ObjectCreation(change.path, keys), now)
        return self._dispatch(kind, change.path, ObjectDeletion(change.path), now)

    def _disabled_controller(self, path: str, value: str) -> ControllerRef | None:
        """The Controller row whose ``Enable`` this change turned false, else None."""
        if value not in ("false", "0") or not path.startswith(_CTRL_PREFIX) or not path.endswith(".Enable"):
            return None
        number = path[len(_CTRL_PREFIX):-len(".Enable")]
        if not number.isdigit():
            return None  # Controller.{i}.MTP.{j}.Enable and deeper rows
        return next((r for r in self.ctx.controllers() if r.instance == int(number)), None)

    def _drop_subscriptions_of(self, controller_path: str, cleared: set[int]) -> None:
        """Delete the rows whose Recipient is (or was, before the strong reference was cleared) the row."""
        table = table_node(self.ctx, "Device.LocalAgent.Subscription.{i}.")
        if table is None:
            return
        for sub in load_subscriptions(self.ctx):
            if sub.recipient == controller_path or (not sub.recipient and sub.instance in cleared):
                delete_row(self.ctx, table, (sub.instance,))
        self._subs = None

    # -- Operate ---------------------------------------------------------------------------------------------
    def handle_operate(self, controller_id: str, msg_id: str, operate: Operate, reply_to: str | None,
                       now: float) -> list[Action]:
        """Process an Operate and return the OperateResp / Error Send (none when send_resp is false)."""
        ctx = self.ctx
        hook: Any = None
        permissions = getattr(ctx, "permissions", None)
        if permissions is not None:
            hook = permissions(controller_id).hook
        try:
            entries = ctx.datamodel.commands(operate.command, now=now)
        except UspError as exc:
            if not operate.send_resp:
                return []
            error = ErrorMessage(exc.code, exc.message)
            return [ctx.send(controller_id, Msg.of(msg_id, error), reply_to, "Error")]
        results: list[OperationResult] = []
        out: list[Action] = []
        for executed, node, inst in entries:
            result: str | OutputArgs | CommandFailure
            if hook is not None and not hook(node, inst, Perm.CMD_EXEC):
                result = CommandFailure(int(ErrorCode.PERMISSION_DENIED),
                                        f"No permission to execute {executed}")
            elif supported_form(executed) == _CANCEL:
                out += self._cancel(inst[-1], now)
                result = OutputArgs({})
            else:
                result, timers = self.ops.invoke(controller_id, operate, executed, node, inst, now)
                out += timers
            results.append(OperationResult(executed, result))
        head: list[Action] = []
        if operate.send_resp:
            resp = Msg.of(msg_id, OperateResp(tuple(results)))
            head.append(ctx.send(controller_id, resp, reply_to, "OperateResp"))
        return head + out + self._flush(now)

    def _cancel(self, request: int, now: float) -> list[Action]:
        run, out = self.ops.cancel(request)
        if run is not None:
            out += self._complete(run.obj_path, run.name, run.command, run.command_key,
                                  CommandFailure(int(ErrorCode.COMMAND_CANCELED), "Command canceled"), now)
        return out

    def _complete(self, obj_path: str, name: str, command: str, key: str,  # noqa: PLR0917
                  resp: OutputArgs | CommandFailure, now: float) -> list[Action]:
        return self._dispatch("OperationComplete", command, OperationComplete(obj_path, name, key, resp), now)

    def _flush(self, now: float) -> list[Action]:
        out, self._after = self._after, []
        if self._reboot is not None:
            boot, factory = self._reboot
            self._reboot = None
            out += self._apply_restart(now, boot, factory=factory)
            self._restarted = True
            out.append(Disconnect("factory-reset" if factory else "reboot", self.options.boot_delay))
        return out

    def _apply_restart(self, now: float, boot: BootCause, *, factory: bool) -> list[Action]:
        ctx = self.ctx
        out = self.notifier.reset() + self.ops.reset()
        out += [CancelTimer(Timer(PERIODIC_TIMER, (n,))) for n in self._periodic]
        out += [CancelTimer(Timer(BULKDATA_TIMER, (n,))) for n in self._bulk]
        out += [CancelTimer(Timer(TTL_TIMER, (n,))) for n in self._ttl]
        if self._http is not None:
            http = self._http
            for number in list(http.inflight):
                out += http.forget(number, keep_retained=True)
            for number in list(http.retained):
                persist = read(ctx, f"{_PROFILE_PREFIX}{number}.HTTP.PersistAcrossReboot") == "true"
                if factory or not persist:
                    http.retained.pop(number)
        self._connecting.clear()
        if self._polling:
            out.append(CancelTimer(Timer(POLL_TIMER)))
        self._periodic.clear()
        self._bulk.clear()
        self._ttl.clear()
        self._vc.clear()
        self._configured.clear()
        self._polling = False
        store = ctx.store
        tracking = store.track_changes
        store.track_changes = False
        if factory:
            store.__init__(store.schema, store.persona, track_changes=tracking)  # type: ignore[misc]
        else:
            subs = table_node(ctx, "Device.LocalAgent.Subscription.{i}.")
            for sub in load_subscriptions(ctx):
                if not sub.persistent and subs is not None:
                    delete_row(ctx, subs, (sub.instance,))
            requests = table_node(ctx, "Device.LocalAgent.Request.{i}.")
            if requests is not None:
                for number in store.instances(requests, ()):
                    delete_row(ctx, requests, (number,))
        store.drain()
        store.track_changes = tracking
        store.persona.boot_time = now + (self.options.boot_delay if self._reboot is None else 0)
        self.boot = boot
        self._boot_sent.clear()
        self._subs = None
        ctx.invalidate_controllers()
        return out

    # -- Host (what commands call) ---------------------------------------------------------------------------
    def emit_event(self, obj_path: str, name: str, params: dict[str, str], now: float) -> None:
        """Queue an event notification (sent after the current response)."""
        self._after += self._event(obj_path, name, params, now)

    def reboot(self, boot: BootCause, now: float, *, factory: bool = False) -> None:
        """Reboot once the current message has been answered."""
        self._reboot = (boot, factory)

    def reconnect(self, reason: str, after: float) -> None:
        """Drop the MTP and come back after ``after`` seconds."""
        self._after.append(Disconnect(reason, after))

    def send_onboard(self, controller: int, now: float) -> None:
        """OnBoardRequest to Controller.{controller}: subscription_id "", send_resp=true, never expires.

        It goes out at once, except to a Controller added while running whose MTP is not up yet (a
        ``Connect`` is pending): like obuspa's MTP queue, it is held until ``on_mtp_up`` (TP-469 9.9).
        """
        ref = next((r for r in self.ctx.controllers() if r.instance == controller), None)
        if ref is None:
            return
        eid = ref.endpoint_id
        force = eid in self._boot_sent or eid not in self._connecting
        self._after += self.notifier.notify(
            eid, "", True, onboard_request(self.ctx), now, force=force,
            min_wait=float(read(self.ctx, ref.path + "USPNotifRetryMinimumWaitInterval", "5") or 5),
            multiplier=int(read(self.ctx, ref.path + "USPNotifRetryIntervalMultiplier", "2000") or 2000))

    def force_collection(self, profile: int, now: float) -> None:
        """Report Profile.{profile} now."""
        self._after += self._report(profile, now)

    def _report(self, number: int, now: float) -> list[Action]:
        report = build_report(self.ctx, number, now)
        if report.protocol == "HTTP":
            if not report.url:
                return [Observe("bulkdata_dropped", "HTTP", labels=(("reason", "no-url"),))]
            if self._http is None:
                self._http = HttpDelivery()
            return self._http.post(self.ctx, number, report)
        if report.protocol == "MQTT":
            if not report.topic or not report.mqtt_client:
                return [Observe("bulkdata_dropped", "MQTT", labels=(("reason", "no-topic"),))]
            return [MqttPublish(report.mqtt_client, report.topic, report.body.encode(), report.qos,
                                report.retain, report.content_type, report.profile)]
        return self._event(report.profile + ".", "Push", {"Data": report.body}, now)

    def http_result(self, profile: str, ok: bool, now: float) -> list[Action]:
        """The driver's outcome of an ``HttpPost``: retry (HTTP.RetryEnable) or retain on failure (10)."""
        number = profile.rstrip(".").rpartition(".")[2]
        if self._http is None or not number.isdigit():
            return []
        return self._http.result(self.ctx, int(number), ok, now, self.rng)

    # -- responses, timers, polling --------------------------------------------------------------------------
    def on_notify_resp(self, msg_id: str, now: float) -> list[Action]:
        """A NotifyResp: stop retrying; OnBoardRequest repeats after OnBoardingRestartTime (2.17)."""
        out, pending = self.notifier.on_resp(msg_id, now)
        if pending is not None and pending.kind == "OnBoardRequest":
            ref = self.ctx.controller_for(pending.to_id)
            if ref is not None and read(self.ctx, ref.path + "OnBoardingComplete") != "true":
                restart = read(self.ctx, ref.path + "OnBoardingRestartTime", "0")
                if restart.isdigit() and int(restart) > 0:
                    out.append(Schedule(now + int(restart), Timer(ONBOARD_TIMER, (ref.instance,))))
        return out

    def fire(self, timer: Timer, now: float) -> list[Action]:
        """A timer this behaviour scheduled is due."""
        kind, key = timer.kind, timer.key
        out: list[Action] = []
        if kind == RETRY_TIMER:
            out = self.notifier.retry(str(key[0]), now)
        elif kind == COMMAND_TIMER:
            out = self._step(int(key[0]), now)
        elif kind == PERIODIC_TIMER:
            ref = next((r for r in self.ctx.controllers() if r.instance == key[0]), None)
            self._periodic.pop(int(key[0]), None)
            if ref is not None:
                out = self._dispatch("Event", PERIODIC_EVENT, periodic_event(), now, only=ref)
                out += self._schedule_periodic(ref, now)
        elif kind == TTL_TIMER:
            self._ttl.pop(int(key[0]), None)
            table = table_node(self.ctx, "Device.LocalAgent.Subscription.{i}.")
            sub = next((s for s in self.subscriptions if s.instance == key[0]), None)
            if table is not None and sub is not None and sub.time_to_live > 0:
                delete_row(self.ctx, table, (sub.instance,))
        elif kind == BULKDATA_TIMER:
            number = int(key[0])
            self._bulk.pop(number, None)
            if number in enabled_profiles(self.ctx):
                out = self._report(number, now) + self._timers(now)
        elif kind == BULKDATA_RETRY_TIMER:
            out = self._http.retry(int(key[0]), now) if self._http is not None else []
        elif kind == POLL_TIMER:
            self._polling = False
            out = self.poll(now)
            if any(s.enable and s.notif_type == "ValueChange" for s in self.subscriptions):
                self._polling = True
                out.append(Schedule(now + self.poll_period, Timer(POLL_TIMER)))
        elif kind == ONBOARD_TIMER:
            ref = next((r for r in self.ctx.controllers() if r.instance == key[0]), None)
            if ref is not None and read(self.ctx, ref.path + "OnBoardingComplete") != "true":
                self.send_onboard(ref.instance, now)
        return out + self._flush(now)

    def _step(self, request: int, now: float) -> list[Action]:
        stepped = self.ops.step(request, now)
        if stepped is None:
            return []
        run, outcome = stepped
        if isinstance(outcome, Later):
            return [Schedule(now + max(0.0, outcome.delay), Timer(COMMAND_TIMER, (request,)))]
        self.ops.finish(run, outcome)
        resp: OutputArgs | CommandFailure = (OutputArgs(dict(outcome.output)) if isinstance(outcome, Done)
                                             else CommandFailure(int(outcome.code), outcome.message))
        assert isinstance(outcome, Done | Failed)
        return self._complete(run.obj_path, run.name, run.command, run.command_key, resp, now)

    def poll(self, now: float) -> list[Action]:
        """ValueChange for watched values that move by themselves (generated); writes notify at once."""
        ctx = self.ctx
        out: list[Action] = []
        seen: dict[str, str] = {}
        for sub in self.subscriptions:
            if not sub.enable or sub.notif_type != "ValueChange":
                continue
            for ref in sub.refs:
                try:
                    results = ctx.datamodel.get(ref, now=now)
                except (UspError, AttributeError):
                    continue
                for obj_path, params in results:
                    for name, value in params.items():
                        path = obj_path + name
                        if path in seen:
                            continue
                        found = ctx.locate_param(path)
                        if found is None or found[0].value_change_ignore:
                            continue
                        if isinstance(ctx.store.raw(found[0], found[1]), str):
                            continue  # static value: only writes change it, and writes notify at once
                        seen[path] = value
        for path, value in seen.items():
            old = self._vc.get(path)
            if old is not None and old != value:
                out += self._dispatch("ValueChange", path, ValueChange(path, value), now)
        self._vc = seen
        return out
