"""``uspsim probe``: send one USP request to one agent, or to every matching agent of a running fleet."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fnmatch
import json
from typing import Any

from simulator.fleet.config import PROFILES, ControllerConfig, parse_broker_url
from simulator.fleet.mtp import tls_settings
from simulator.fleet.probe import Probe, ProbeTimeoutError, mqtt_probe
from simulator.fleet.yamlsource import COMMAND_LINE, command_line_error
from simulator.integrations.render import body_text, to_data
from simulator.usp.messages import Msg
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Operate,
    Set,
    UpdateObject,
    UpdateParamSetting,
)
from simulator.usp.responses import GetSupportedProtocolResp

__all__ = ["add_probe_parser", "build_request", "cmd_probe"]


def add_probe_parser(sub: Any) -> None:
    """Register ``uspsim probe``."""
    probe = sub.add_parser("probe", help="act as a USP controller: send one request and print the answers")
    probe.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
    target = probe.add_mutually_exclusive_group(required=True)
    target.add_argument("--agent", help="the agent's EndpointID")
    target.add_argument(
        "--agents",
        help="comma-separated EndpointIDs, a template with {index} plus --range, "
        "or a glob matched against agents discovered for --discover seconds",
    )
    probe.add_argument("--range", default=None, help="START:STOP for an --agents template (STOP excluded)")
    probe.add_argument(
        "--discover", type=float, default=3.0, help="seconds to listen for agents (glob patterns)"
    )
    probe.add_argument(
        "--profile", default="generic", choices=sorted(PROFILES), help="controller profile (topics)"
    )
    probe.add_argument("--controller-id", default=None, help="our EndpointID (default: the profile's)")
    probe.add_argument("--agent-topic", default=None, help="topic template, e.g. usp/agent/{endpoint_id}")
    probe.add_argument("--controller-topic", default=None, help="topic we receive on")
    probe.add_argument("--mqtt-version", choices=["5", "3.1.1"], default="5")
    probe.add_argument("--username", default=None)
    probe.add_argument("--password", default=None)
    probe.add_argument("--insecure", action="store_true", help="mqtts: skip certificate verification")
    probe.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    probe.add_argument("--json", action="store_true", help="print decoded answers as JSON")
    ops = probe.add_subparsers(dest="op", required=True, metavar="REQUEST")
    get = ops.add_parser("get", help="Get PATH...")
    get.add_argument("paths", nargs="+")
    get.add_argument("--max-depth", type=int, default=0)
    st = ops.add_parser("set", help="Set PATH=VALUE...")
    st.add_argument("settings", nargs="+", metavar="PATH=VALUE")
    st.add_argument("--allow-partial", action="store_true")
    add = ops.add_parser("add", help="Add OBJPATH [PARAM=VALUE...]")
    add.add_argument("obj_path")
    add.add_argument("settings", nargs="*", metavar="PARAM=VALUE")
    add.add_argument("--allow-partial", action="store_true")
    delete = ops.add_parser("delete", help="Delete OBJPATH...")
    delete.add_argument("paths", nargs="+")
    delete.add_argument("--allow-partial", action="store_true")
    op = ops.add_parser("operate", help="Operate COMMAND [ARG=VALUE...]")
    op.add_argument("command")
    op.add_argument("args", nargs="*", metavar="ARG=VALUE")
    op.add_argument("--key", default="uspsim", help="command_key")
    op.add_argument("--no-resp", action="store_true", help="send_resp = false")
    gsdm = ops.add_parser("gsdm", help="GetSupportedDM OBJPATH...")
    gsdm.add_argument("paths", nargs="+")
    gsdm.add_argument("--first-level-only", action="store_true")
    inst = ops.add_parser("instances", help="GetInstances OBJPATH...")
    inst.add_argument("paths", nargs="+")
    inst.add_argument("--first-level-only", action="store_true")
    ops.add_parser("protocol", help="GetSupportedProtocol")
    probe.set_defaults(func=cmd_probe)


def _pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise command_line_error(option=what, reason=f"expected NAME=VALUE, got {item!r}")
        out.append((name, value))
    return out


def build_request(args: argparse.Namespace) -> Any:
    """The request dataclass described by the sub-command arguments."""
    op = args.op
    if op == "get":
        return Get(tuple(args.paths), args.max_depth)
    if op == "set":
        objs: dict[str, list[UpdateParamSetting]] = {}
        for path, value in _pairs(args.settings, "set"):
            obj, _, param = path.rpartition(".")
            if not obj:
                raise command_line_error(option="set", reason=f"{path!r} is not a parameter path")
            objs.setdefault(obj + ".", []).append(UpdateParamSetting(param, value, True))
        return Set(args.allow_partial, tuple(UpdateObject(o, tuple(s)) for o, s in objs.items()))
    if op == "add":
        params = tuple(CreateParamSetting(k, v, True) for k, v in _pairs(args.settings, "add"))
        return Add(args.allow_partial, (CreateObject(args.obj_path, params),))
    if op == "delete":
        return Delete(args.allow_partial, tuple(args.paths))
    if op == "operate":
        return Operate(args.command, args.key, not args.no_resp, dict(_pairs(args.args, "operate")))
    if op == "gsdm":
        return GetSupportedDM(tuple(args.paths), args.first_level_only, True, True, True, True)
    if op == "instances":
        return GetInstances(tuple(args.paths), args.first_level_only)
    return GetSupportedProtocol("1.0,1.1,1.2,1.3")


def _controller(args: argparse.Namespace) -> ControllerConfig:
    p = PROFILES[args.profile]
    return dataclasses.replace(
        ControllerConfig(
            profile=args.profile,
            endpoint_id=p.endpoint_id,
            agent_topic=p.agent_topic,
            controller_topic=p.controller_topic,
        ),
        **{
            k: v
            for k, v in (
                ("endpoint_id", args.controller_id),
                ("agent_topic", args.agent_topic),
                ("controller_topic", args.controller_topic),
            )
            if v
        },
    )


def cmd_probe(args: argparse.Namespace) -> int:
    """``uspsim probe``."""
    from simulator.integrations.cli import run_loop

    host, port, tls = parse_broker_url(args.broker, COMMAND_LINE, 0, "--broker")
    if not host:
        raise command_line_error(
            option="--broker", reason="the probe needs a running broker (mqtt://host:port)"
        )
    if tls is not None and args.insecure:
        tls = dataclasses.replace(tls, insecure=True)
    body = build_request(args)
    probe = mqtt_probe(
        _controller(args),
        host,
        port,
        protocol_version=5 if args.mqtt_version == "5" else 4,
        tls=tls_settings(tls) if tls else None,
        username=args.username,
        password=args.password,
        timeout=args.timeout,
    )
    return int(run_loop(_probe(args, probe, body)))


async def _targets(args: argparse.Namespace, probe: Probe) -> list[str]:
    if args.agent:
        return [args.agent]
    spec: str = args.agents
    if "{index" in spec:
        if not args.range:
            raise command_line_error(option="--range", reason="a {index} template needs --range START:STOP")
        start, _, stop = args.range.partition(":")
        return [spec.format(index=i) for i in range(int(start), int(stop))]
    if not any(c in spec for c in "*?["):
        return [s for s in spec.split(",") if s]
    # Discovery: agents announce themselves with Connect Records / Notifies on our topic; then every
    # candidate that answers a GetSupportedProtocol counts.
    await asyncio.sleep(args.discover)
    found = sorted(e for e in probe.agents if fnmatch.fnmatchcase(e, spec))
    alive: list[str] = []
    for eid, msg in zip(
        found,
        await _fan_out(probe, found, GetSupportedProtocol("1.0,1.1,1.2,1.3"), args.timeout),
        strict=True,
    ):
        if msg is not None and isinstance(msg.body, GetSupportedProtocolResp):
            alive.append(eid)
    return alive


async def _fan_out(probe: Probe, eids: list[str], body: Any, timeout: float) -> list[Msg | None]:
    """One request to each agent, pipelined; answers in ``eids`` order (None = no answer)."""
    results: list[Msg | None] = [None] * len(eids)
    if not eids:
        return results
    done = asyncio.get_running_loop().create_future()
    left = len(eids)

    def callback_for(i: int) -> Any:
        def callback(msg: Msg | None, _latency: float) -> None:
            nonlocal left
            results[i] = msg
            left -= 1
            if left == 0 and not done.done():
                done.set_result(None)

        return callback

    for i, eid in enumerate(eids):
        probe.send(eid, body, callback_for(i), timeout)
    await done
    return results


async def _probe(args: argparse.Namespace, probe: Probe, body: Any) -> int:
    await probe.connect()
    try:
        eids = await _targets(args, probe)
        if not eids:
            print("no matching agent answered")
            return 1
        answers = await _fan_out(probe, eids, body, args.timeout)
    except ProbeTimeoutError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        await probe.close()
    status = 0
    out: list[dict[str, Any]] = []
    for eid, msg in zip(eids, answers, strict=True):
        if msg is None:
            status = 1
        if args.json:
            out.append({"agent": eid, "answer": None if msg is None else to_data(msg)})
            continue
        header = f"== {eid}"
        if msg is None:
            print(f"{header}: no answer within {args.timeout:g} s")
            continue
        print(f"{header} ({type(msg.body).__name__}, msg_id {msg.msg_id})")
        print(body_text(msg.body))
    if args.json:
        print(json.dumps(out if len(out) > 1 else out[0], indent=2))
    return status
