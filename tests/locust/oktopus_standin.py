"""A small stand-in for Oktopus' REST API (docs/controllers.md), on top of our probe controller.

``http.server`` in a thread: each request becomes one USP request through ``ProbeThread`` (its own
asyncio loop) and is answered as Oktopus does: the USP response as snake_case JSON with HTTP 200 (a USP
Error too, as ``err_code``/``err_msg``), 503 for a device never seen, 504 when the agent does not answer
in time, 401 without the token from ``PUT /api/auth/login``. The EndpointID serves as the device SN.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from probe_thread import ProbeThread

from simulator.fleet.probe import ProbeTimeoutError
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

TOKEN = "standin-jwt-token"


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def build(op: str, body: dict[str, Any]) -> Any:
    ap = bool(body.get("allow_partial", False))
    if op == "get":
        return Get(tuple(body["param_paths"]), int(body.get("max_depth", 0)))
    if op == "set":
        return Set(ap, tuple(
            UpdateObject(o["obj_path"], tuple(
                UpdateParamSetting(p["param"], p["value"], bool(p.get("required")))
                for p in o.get("param_settings", [])))
            for o in body["update_objs"]))
    if op == "add":
        return Add(ap, tuple(
            CreateObject(o["obj_path"], tuple(
                CreateParamSetting(p["param"], p["value"], bool(p.get("required")))
                for p in o.get("param_settings", [])))
            for o in body["create_objs"]))
    if op == "del":
        return Delete(ap, tuple(body["obj_paths"]))
    if op == "instances":
        return GetInstances(tuple(body["obj_paths"]), bool(body.get("first_level_only", False)))
    if op == "parameters":
        flags = ("first_level_only", "return_commands", "return_events", "return_params")
        return GetSupportedDM(tuple(body["obj_paths"]), *(bool(body.get(f, False)) for f in flags))
    if op == "operate":
        return Operate(body["command"], body.get("command_key", ""), bool(body.get("send_resp", True)),
                       {k: str(v) for k, v in body.get("input_args", {}).items()})
    raise KeyError(op)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (end of a Locust run) is not an error of the stand-in."""


class OktopusStandIn:
    """The HTTP server; ``url`` is its base (``http://127.0.0.1:<port>``)."""

    def __init__(self, probe: ProbeThread, request_timeout: float = 5.0) -> None:
        self.probe = probe
        self.request_timeout = request_timeout
        self.requests = 0
        self.offline: set[str] = set()
        """Devices listed by GET /api/device but answered 503 (known to the controller, not connected)."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def do_PUT(self) -> None:
                path = urlsplit(self.path).path
                if path == "/api/auth/login":
                    body = self.body()
                    if body.get("email") and body.get("password"):
                        self.reply(200, TOKEN)
                    else:
                        self.reply(401, {"error": "bad credentials"})
                    return
                if self.headers.get("Authorization") != TOKEN:
                    self.reply(401, {"error": "unauthorized"})
                    return
                parts = path.split("/")  # "", "api", "device", sn, mtp, op
                if len(parts) != 6 or parts[1:3] != ["api", "device"]:
                    self.reply(404, {"error": "not found"})
                    return
                sn, op = parts[3], parts[5]
                try:
                    request = build(op, self.body())
                except (KeyError, TypeError, ValueError) as exc:
                    self.reply(400, {"error": f"bad request: {exc}"})
                    return
                if sn not in standin.probe.probe.agents or sn in standin.offline:
                    self.reply(503, {"error": "device is offline"})
                    return
                standin.requests += 1
                try:
                    msg = standin.probe.run(
                        standin.probe.probe.request(sn, request, standin.request_timeout),
                        timeout=standin.request_timeout + 5,
                    )
                except ProbeTimeoutError:
                    self.reply(504, {"error": "request timed out"})
                    return
                self.reply(200, to_json(msg.body))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/api/device":
                    self.reply(404, {"error": "not found"})
                    return
                if self.headers.get("Authorization") != TOKEN:
                    self.reply(401, {"error": "unauthorized"})
                    return
                query = parse_qs(url.query)
                size = min(50, int(query.get("page_size", ["20"])[0]))
                page = int(query.get("page_number", ["0"])[0])
                sns = sorted(set(standin.probe.probe.agents) | standin.offline)
                chunk = sns[page * size : (page + 1) * size]
                self.reply(200, {
                    "pages": (len(sns) + size - 1) // size, "page": page, "size": size, "total": len(sns),
                    "devices": [{"SN": sn, "Status": 2, "Mqtt": 2} for sn in chunk],
                })

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="oktopus-standin", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
