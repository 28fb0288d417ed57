"""How to point the northbound checks of ``oktopus_api.py`` at another controller's REST API.

Subclass ``ControllerApiUser`` and implement four methods: ``login`` (headers for later requests),
``list_devices`` (ids), ``path(op)`` and ``usp(op, body)`` (one USP operation on ``self.device``, answer
classified by ``self.check``). The tasks (Set-then-Get with a per-request value, identity Gets,
GetInstances, GetSupportedDM) and the failure names (``offline (503)``, ``timeout (504)``, ``USP error
<code>``, ``cross-wired answer``) come from the base class. The example below is a hypothetical API:
``POST /v1/devices/{id}/usp`` with ``{"op": "get", ...}``, a bearer token from ``POST /v1/token`` and
``GET /v1/devices`` returning ``{"items": [{"id": ...}]}``; adapt the URLs and the JSON mapping.

Run: ``locust -f locustfiles/generic_api.py --host https://controller.example:443``
"""

from __future__ import annotations

import os
from typing import Any

import oktopus_api  # locust puts the locustfile's folder on sys.path; import the module, not the class
from locust import between


class GenericApiUser(oktopus_api.ControllerApiUser):
    """A controller with a single USP endpoint per device and a bearer token."""

    wait_time = between(0.5, 2.0)

    def login(self) -> dict[str, str]:
        creds = {"username": os.environ.get("USP_API_USER", "admin"),
                 "password": os.environ.get("USP_API_PASSWORD", "admin")}
        with self.client.post("/v1/token", json=creds, name="login", catch_response=True) as response:
            data = self.check(response) or {}
        return {"Authorization": f"Bearer {data.get('access_token', '')}"}

    def list_devices(self) -> list[str]:
        with self.client.get("/v1/devices", headers=self.headers, name="devices",
                             catch_response=True) as response:
            data = self.check(response) or {}
        return [str(item["id"]) for item in data.get("items", []) if "id" in item]

    def path(self, op: str) -> str:
        return f"/v1/devices/{self.device}/usp"

    def usp(self, op: str, body: dict[str, Any]) -> Any:
        with self.client.post(self.path(op), json={"op": op, **body}, headers=self.headers, name=op,
                              catch_response=True) as response:
            return self.check(response)

    def expect(self, op: str, body: dict[str, Any], leaf: str, expected: str | None) -> None:
        # The base class PUTs to ``path(op)``; this API takes a POST with the operation in the body.
        with self.client.post(self.path(op), json={"op": op, **body}, headers=self.headers,
                              name=f"{op}:check", catch_response=True) as response:
            data = self.check(response)
            if data is None:
                return
            value = oktopus_api.get_value(data, leaf)
            if value is None:
                response.failure("answer without the requested parameter")
            elif expected is None:
                self.identity = value
            elif value != expected:
                response.failure("cross-wired answer")
