"""Controller northbound load: Locust users drive Oktopus' REST API (docs/controllers.md) while agents answer.

Run (agents from ``locustfiles/fleet.py --usp-controller-profile oktopus`` or ``uspsim run``):
``locust -f locustfiles/oktopus_api.py --headless -u 20 -r 5 --host http://127.0.0.1:8000``
Environment: ``USP_API_EMAIL`` / ``USP_API_PASSWORD`` (login), ``USP_API_MTP`` (mqtt|ws|stomp|any).

Outcomes are reported separately (Locust groups failures by their text): HTTP status, ``USP error <code>``
found in an HTTP 200 body, ``timeout (504)`` and ``offline (503)``. Answers are checked against their
request: a Set writes a value unique to this request and the Get after it must read it back, and an
agent's own EndpointID must never change between Gets, so a reply delivered to the wrong request (Oktopus
does not match replies by msg_id) counts as ``cross-wired answer``. Each user works on its own device.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from locust import HttpUser, between, task

_USERS = itertools.count()
UNIQUE_LEAF = ("Device.DeviceInfo.", "FriendlyName")
"""A writable string every profile has: Set a per-request value, then Get it back."""
IDENTITY = ("Device.LocalAgent.", "EndpointID")
"""A per-agent unique leaf: every Get of one device must return the same value."""


def _key(data: dict[str, Any], snake: str) -> Any:
    """``data[snake]`` or its protojson camelCase spelling."""
    if snake in data:
        return data[snake]
    head, *rest = snake.split("_")
    return data.get(head + "".join(p.title() for p in rest))


def usp_error(data: Any) -> int:
    """The USP error code in a JSON answer: the whole-message Error or the first per-path failure."""
    if not isinstance(data, dict):
        return 0
    code = _key(data, "err_code")
    if code:
        return int(code)
    for result in _key(data, "req_path_results") or []:
        if _key(result, "err_code"):
            return int(_key(result, "err_code"))
    for result in _key(data, "updated_obj_results") or []:
        failure = (_key(result, "oper_status") or {}).get("oper_failure") or {}
        if _key(failure, "err_code"):
            return int(_key(failure, "err_code"))
    return 0


def get_value(data: Any, leaf: str) -> str | None:
    """The value of ``leaf`` in a GetResp JSON (first requested, first resolved path)."""
    try:
        resolved = _key(_key(data, "req_path_results")[0], "resolved_path_results")[0]
        value = _key(resolved, "result_params")[leaf]
    except (IndexError, KeyError, TypeError):
        return None
    return str(value)


class ControllerApiUser(HttpUser):
    """Northbound API checks, independent of the controller's URL scheme (see ``generic_api.py``)."""

    abstract = True
    wait_time = between(0.2, 1.0)
    mtp = os.environ.get("USP_API_MTP", "mqtt")

    def on_start(self) -> None:
        self.number = next(_USERS)
        self.sets = 0
        self.identity: str | None = None
        self.headers = self.login()
        devices = self.list_devices()
        self.device = devices[self.number % len(devices)] if devices else None

    # -- what another controller changes --------------------------------------------------------------------
    def login(self) -> dict[str, str]:
        """Authenticate; returns the headers of every later request."""
        raise NotImplementedError

    def list_devices(self) -> list[str]:
        """Every device id the controller lists."""
        raise NotImplementedError

    def usp(self, op: str, body: dict[str, Any]) -> Any:
        """Send one USP operation to ``self.device``; returns the JSON answer or None (failure reported)."""
        raise NotImplementedError

    # -- shared checks -------------------------------------------------------------------------------------
    def check(self, response: Any) -> Any:
        """Classify one answer (``catch_response=True``); returns its JSON on success."""
        status = response.status_code
        if status == 503:
            response.failure("offline (503)")
            return None
        if status == 504:
            response.failure("timeout (504)")
            return None
        if status != 200:
            response.failure(f"HTTP {status}")
            return None
        try:
            data = response.json()
        except ValueError:
            response.failure("HTTP 200 without JSON")
            return None
        code = usp_error(data)
        if code:
            response.failure(f"USP error {code}")
            return None
        response.success()
        return data

    @task(3)
    def set_then_get(self) -> None:
        """Set a value unique to this request, Get it back: another answer means a cross-wired reply."""
        if self.device is None:
            return
        self.sets += 1
        value = f"lt{self.number}-{self.sets}"[:32]
        obj, leaf = UNIQUE_LEAF
        body = {"allow_partial": False,
                "update_objs": [{"obj_path": obj, "param_settings": [{"param": leaf, "value": value,
                                                                       "required": True}]}]}
        if self.usp("set", body) is None:
            return
        self.expect("get", {"param_paths": [obj + leaf], "max_depth": 1}, leaf, value)

    @task(3)
    def get_identity(self) -> None:
        """Get the agent's EndpointID: it must never change for one device."""
        if self.device is None:
            return
        obj, leaf = IDENTITY
        self.expect("get", {"param_paths": [obj + leaf], "max_depth": 1}, leaf, self.identity)

    @task(1)
    def instances(self) -> None:
        if self.device is not None:
            self.usp("instances", {"obj_paths": ["Device.WiFi.AccessPoint."], "first_level_only": False})

    @task(1)
    def parameters(self) -> None:
        if self.device is not None:
            self.usp("parameters", {"obj_paths": ["Device."], "first_level_only": True,
                                    "return_commands": True, "return_events": True, "return_params": True})

    def expect(self, op: str, body: dict[str, Any], leaf: str, expected: str | None) -> None:
        """Send ``op`` and compare ``leaf`` in the answer with ``expected`` (None: remember the value)."""
        with self.client.put(self.path(op), json=body, headers=self.headers, name=f"{op}:check",
                             catch_response=True) as response:
            data = self.check(response)
            if data is None:
                return
            value = get_value(data, leaf)
            if value is None:
                response.failure("answer without the requested parameter")
            elif expected is None:
                self.identity = value
            elif value != expected:
                response.failure("cross-wired answer")

    def path(self, op: str) -> str:
        """URL path of ``op`` on this user's device."""
        raise NotImplementedError


class OktopusApiUser(ControllerApiUser):
    """Oktopus (OktopUSP/oktopus): ``PUT /api/device/{sn}/{mtp}/<op>``, raw JWT in ``Authorization``."""

    def login(self) -> dict[str, str]:
        creds = {"email": os.environ.get("USP_API_EMAIL", "admin@example.com"),
                 "password": os.environ.get("USP_API_PASSWORD", "admin")}
        with self.client.put("/api/auth/login", json=creds, name="login", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return {}
            token = response.json()
            if isinstance(token, dict):
                token = token.get("token", "")
            return {"Authorization": str(token)}

    def list_devices(self) -> list[str]:
        devices: list[str] = []
        for page in range(100):
            with self.client.get(f"/api/device?page_size=50&page_number={page}", headers=self.headers,
                                 name="devices", catch_response=True) as response:
                data = self.check(response)
            if not data:
                break
            devices += [d.get("SN") or d.get("sn") for d in data.get("devices") or []]
            if page + 1 >= int(data.get("pages") or 0):
                break
        return [d for d in devices if d]

    def path(self, op: str) -> str:
        return f"/api/device/{self.device}/{self.mtp}/{op}"

    def usp(self, op: str, body: dict[str, Any]) -> Any:
        with self.client.put(self.path(op), json=body, headers=self.headers, name=op,
                             catch_response=True) as response:
            return self.check(response)
