"""SyncProbe: the built-in probe controller driven synchronously through the sandbox's loop thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from simulator.fleet.probe import Notification, Probe
from simulator.integrations.loopthread import SandboxError
from simulator.usp.messages import Msg
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
from simulator.usp.responses import (
    AddResp,
    DeleteResp,
    GetInstancesResp,
    GetResp,
    GetSupportedDMResp,
    OperateResp,
    SetResp,
)

if TYPE_CHECKING:
    from simulator.integrations.sandbox import Sandbox

__all__ = ["SyncProbe", "UnexpectedResponseError"]

T = TypeVar("T")


class UnexpectedResponseError(SandboxError):
    """An agent answered with an ErrorMessage (or another unexpected message type).

    Attributes:
        msg: the response Msg.
        err_code: the ErrorMessage's err_code (0 for other unexpected types).
    """

    def __init__(self, text: str, msg: Msg) -> None:
        super().__init__(text)
        self.msg = msg
        self.err_code: int = getattr(msg.body, "err_code", 0)


def _paths(paths: str | Iterable[str]) -> tuple[str, ...]:
    return (paths,) if isinstance(paths, str) else tuple(paths)


def _kind(kind: str) -> str:
    return kind if kind.startswith("Notify:") else f"Notify:{kind}"


class SyncProbe:
    """A synchronous facade over the built-in probe controller (``simulator.fleet.probe.Probe``).

    Every method blocks the calling thread (never the sandbox loop) until the agent answers. Methods
    that return a ``*Resp`` raise ``UnexpectedResponseError`` when the agent answers with an
    ``ErrorMessage``; per-path errors (``GetResp`` ``err_code``, partial Set/Add/Delete) are returned.

    Attributes:
        controller_id: the probe's EndpointID.
        timeout: default seconds per request.
    """

    def __init__(self, sandbox: Sandbox, probe: Probe) -> None:
        """Wrap a connected probe; use ``Sandbox.probe``."""
        self._sandbox = sandbox
        self._probe = probe
        self.controller_id = probe.controller_id
        self.timeout = probe.timeout

    def __repr__(self) -> str:
        return f"<SyncProbe {self.controller_id}>"

    # -- raw ----------------------------------------------------------------------------------------------
    def request(self, endpoint_id: str, body: Any, timeout: float | None = None) -> Msg:
        """Send any request dataclass (``simulator.usp.requests``) and return the response Msg.

        Raises:
            ProbeTimeoutError: no answer within ``timeout``.
        """
        t = timeout or self.timeout
        return self._sandbox.loop.run(self._probe.request(endpoint_id, body, t), t + 5.0)

    async def arequest(self, endpoint_id: str, body: Any, timeout: float | None = None) -> Msg:
        """``request`` awaited from an async test (the test's loop keeps running meanwhile)."""
        t = timeout or self.timeout
        return await self._sandbox.loop.arun(self._probe.request(endpoint_id, body, t), t + 5.0)

    def _expect(self, endpoint_id: str, body: Any, kind: type[T], timeout: float | None) -> T:
        msg = self.request(endpoint_id, body, timeout)
        if not isinstance(msg.body, kind):
            detail = getattr(msg.body, "err_msg", "") or type(msg.body).__name__
            code = getattr(msg.body, "err_code", None)
            text = f"{type(body).__name__} to {endpoint_id}: expected {kind.__name__}, got " + (
                f"ErrorMessage {code} {detail}" if code is not None else detail
            )
            raise UnexpectedResponseError(text, msg)
        return msg.body

    # -- the request types ---------------------------------------------------------------------------------
    def get(
        self, endpoint_id: str, paths: str | Iterable[str], max_depth: int = 0, timeout: float | None = None
    ) -> GetResp:
        """Get: parameter/object paths or search expressions."""
        return self._expect(endpoint_id, Get(_paths(paths), max_depth), GetResp, timeout)

    def get_values(
        self, endpoint_id: str, paths: str | Iterable[str], timeout: float | None = None
    ) -> dict[str, str]:
        """Get, flattened to ``{full parameter path: value}`` (paths that failed are left out)."""
        resp = self.get(endpoint_id, paths, timeout=timeout)
        return {
            f"{res.resolved_path}{name}": value
            for req in resp.req_path_results
            for res in req.resolved_path_results
            for name, value in res.result_params.items()
        }

    def set(
        self,
        endpoint_id: str,
        values: Mapping[str, str],
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
    ) -> SetResp:
        """Set ``{"Device.Obj.Param": "value", ...}`` (grouped into one UpdateObject per object)."""
        objs: dict[str, list[UpdateParamSetting]] = {}
        for path, value in values.items():
            obj, _, param = path.rpartition(".")
            objs.setdefault(f"{obj}.", []).append(UpdateParamSetting(param, str(value), True))
        body = Set(allow_partial, tuple(UpdateObject(o, tuple(s)) for o, s in objs.items()))
        return self._expect(endpoint_id, body, SetResp, timeout)

    def add(
        self,
        endpoint_id: str,
        obj_path: str,
        values: Mapping[str, str] | None = None,
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
    ) -> AddResp:
        """Add one instance of ``obj_path`` (a table path ending in ``.``) with ``values``."""
        settings = tuple(CreateParamSetting(k, str(v), True) for k, v in (values or {}).items())
        body = Add(allow_partial, (CreateObject(obj_path, settings),))
        return self._expect(endpoint_id, body, AddResp, timeout)

    def delete(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
    ) -> DeleteResp:
        """Delete instances (paths or search expressions)."""
        return self._expect(endpoint_id, Delete(allow_partial, _paths(paths)), DeleteResp, timeout)

    def operate(
        self,
        endpoint_id: str,
        command: str,
        args: Mapping[str, str] | None = None,
        *,
        command_key: str = "",
        send_resp: bool = True,
        timeout: float | None = None,
    ) -> OperateResp:
        """Operate ``Device.Reboot()`` and friends."""
        body = Operate(command, command_key, send_resp, dict(args or {}))
        return self._expect(endpoint_id, body, OperateResp, timeout)

    def gsdm(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        first_level_only: bool = False,
        timeout: float | None = None,
    ) -> GetSupportedDMResp:
        """GetSupportedDM with commands, events and parameters."""
        body = GetSupportedDM(_paths(paths), first_level_only, True, True, True)
        return self._expect(endpoint_id, body, GetSupportedDMResp, timeout)

    def instances(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        first_level_only: bool = False,
        timeout: float | None = None,
    ) -> GetInstancesResp:
        """GetInstances."""
        body = GetInstances(_paths(paths), first_level_only)
        return self._expect(endpoint_id, body, GetInstancesResp, timeout)

    # -- notifications -----------------------------------------------------------------------------------
    def _matcher(
        self, kind: str | None, endpoint_id: str | None, predicate: Callable[[Notification], bool] | None
    ) -> Callable[[Notification], bool]:
        want = _kind(kind) if kind else None

        def match(note: Notification) -> bool:
            return (
                (want is None or note.kind == want)
                and (endpoint_id is None or note.endpoint_id == endpoint_id)
                and (predicate is None or predicate(note))
            )

        return match

    def wait_notification(
        self,
        kind: str | None = None,
        timeout: float = 10.0,
        *,
        endpoint_id: str | None = None,
        predicate: Callable[[Notification], bool] | None = None,
    ) -> Notification:
        """Wait for a Notify (already received ones count, since the last ``clear``).

        Args:
            kind: "ValueChange", "Boot!", "ObjectCreation", "OperationComplete", "Event"... or None for any.
            timeout: seconds.
            endpoint_id: only from this agent.
            predicate: an extra condition on the ``Notification``.

        Raises:
            ProbeTimeoutError: none arrived in time.
        """
        match = self._matcher(kind, endpoint_id, predicate)
        return self._sandbox.loop.run(self._probe.wait_notification(match, timeout), timeout + 5.0)

    async def await_notification(
        self,
        kind: str | None = None,
        timeout: float = 10.0,
        *,
        endpoint_id: str | None = None,
        predicate: Callable[[Notification], bool] | None = None,
    ) -> Notification:
        """``wait_notification`` awaited from an async test."""
        match = self._matcher(kind, endpoint_id, predicate)
        return await self._sandbox.loop.arun(self._probe.wait_notification(match, timeout), timeout + 5.0)

    @property
    def notifications(self) -> list[Notification]:
        """Notifies received since the last ``clear`` (a copy)."""
        return self._sandbox.loop.call(lambda: list(self._probe.notifications))

    @property
    def agents(self) -> dict[str, str | None]:
        """EndpointIDs the probe has heard from -> their reply-to topic (a copy)."""
        return self._sandbox.loop.call(lambda: dict(self._probe.agents))

    def clear(self) -> None:
        """Forget received notifications (the per-test reset)."""
        self._sandbox.loop.call(self._probe.notifications.clear)

    def check(self) -> None:
        """Re-raise a lost probe connection."""
        lost = self._probe.lost
        if lost is not None:
            self._probe.lost = None
            raise lost
