"""Scenario ``behaviours:`` and ``faults:`` sections -> frozen specs, validated at load time.

Every entry shares ``kind``, ``name``, ``start``, ``stop`` and ``agents`` (which agents); time-driven
kinds add ``rate``, ``distribution`` and ``jitter``; the remaining keys are per kind (``OPTIONS``).
Mistakes raise ``ConfigError`` with file, line and key path, like the rest of the scenario.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from simulator.agent.faults import ONBOARDING_LEAVES, FaultKind, FaultSpec
from simulator.fleet.yamlsource import ConfigError, Node

__all__ = [
    "OPTIONS",
    "AgentSelection",
    "BehaviourSpec",
    "FaultConfig",
    "Rate",
    "parse_behaviours",
    "parse_faults",
]


@dataclass(frozen=True, slots=True)
class Opt:
    """One per-kind option: ``type`` is number | int | bool | str | strs | ints | choice."""

    type: str
    default: Any = None
    minimum: float = 0.0
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False


_RATED = frozenset({"churn", "reboot", "value_change", "wifi_clients"})
"""Kinds driven by ``rate`` (events per second over the selected agents)."""

OPTIONS: dict[str, dict[str, Opt]] = {
    "boot_storm": {
        "ramp": Opt("number", 0.0),
        "downtime": Opt("number", 1.0),
        "cause": Opt("choice", "LocalReboot", choices=("LocalReboot", "RemoteReboot")),
    },
    "churn": {
        "abrupt": Opt("number", 0.0, maximum=1.0),
        "downtime": Opt("number", 2.0),
        "downtime_max": Opt("number", None),
    },
    "reboot": {
        "downtime": Opt("number", 2.0),
        "cause": Opt("choice", "LocalReboot", choices=("LocalReboot", "RemoteReboot")),
    },
    "value_change": {
        "params": Opt("strs", required=True),
        "values": Opt("strs", ()),
    },
    "periodic_notify": {
        "interval": Opt("int", minimum=1, required=True),
        "subscribe": Opt("bool", True),
    },
    "wifi_clients": {
        "leave_rate": Opt("number", None),
        "max_clients": Opt("int", 8, minimum=1),
        "access_points": Opt("ints", (1,), minimum=1),
        "hosts": Opt("bool", True),
    },
    "bulk_data": {
        "interval": Opt("int", minimum=1, required=True),
        "protocol": Opt("choice", "USPEventNotif", choices=("USPEventNotif", "HTTP")),
        "url": Opt("str", ""),
        "profile": Opt("int", 1, minimum=1),
        "subscribe": Opt("bool", True),
    },
    "firmware_campaign": {
        "mode": Opt("choice", "agent", choices=("agent", "offer")),
        "ramp": Opt("number", 0.0),
        "version": Opt("str", "9.9.9"),
        "url": Opt("str", "http://firmware.invalid/uspsim-{version}.bin"),
        "download_time": Opt("number", 2.0),
        "validate_time": Opt("number", 1.0),
        "boot_delay": Opt("number", 2.0),
        "failure_rate": Opt("number", 0.0, maximum=1.0),
        "subscribe": Opt("bool", True),
    },
}
"""Per-kind options (besides the common keys) with their type and default."""

_COMMON = frozenset({"kind", "name", "start", "stop", "agents"})
_RATE_KEYS = frozenset({"rate", "distribution", "jitter"})
_AGENT_KEYS = frozenset({"share", "count", "indexes"})
_FAULT_KEYS = frozenset(
    {"kind", "rate", "messages", "start", "stop", "agents", "delay", "jitter", "error_code", "mode", "leaves"}
)
_MESSAGES = frozenset(
    {"Get", "Set", "Add", "Delete", "Operate", "GetSupportedDM", "GetInstances", "GetSupportedProtocol"}
)


class Reader(Protocol):
    """What ``simulator.fleet.config`` offers to read typed values with file/line/key errors."""

    file: str

    def fail(self, node: Node, key: str, kp: str, reason: str) -> ConfigError: ...
    def known(self, node: Node, kp: str, allowed: frozenset[str]) -> None: ...
    def string(self, node: Node, key: str, kp: str, default: str | None) -> str | None: ...
    def number(
        self, node: Node, key: str, kp: str, default: float, *, minimum: float, integer: bool = False
    ) -> float: ...
    def flag(self, node: Node, key: str, kp: str, default: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class AgentSelection:
    """Which agents a behaviour or fault acts on (default: every agent).

    Attributes:
        share: fraction (0..1] of the candidates, drawn reproducibly from the seed.
        count: this many candidates, drawn reproducibly (wins over ``share``).
        indexes: half-open fleet-wide index ranges the candidates are limited to.
    """

    share: float | None = None
    count: int | None = None
    indexes: tuple[tuple[int, int], ...] = ()

    def resolve(self, total: int, salt: str, seed: int = 0) -> frozenset[int]:
        """The selected fleet-wide indexes of a fleet of ``total`` agents (identical in every shard)."""
        if self.indexes:
            candidates = sorted({i for lo, hi in self.indexes for i in range(lo, min(hi, total))})
        else:
            candidates = list(range(total))
        want = len(candidates)
        if self.count is not None:
            want = min(self.count, want)
        elif self.share is not None:
            want = min(want, round(self.share * want))
        if want >= len(candidates):
            return frozenset(candidates)
        return frozenset(random.Random(f"{seed}/{salt}").sample(candidates, want))


@dataclass(frozen=True, slots=True)
class Rate:
    """How often a time-driven behaviour acts (over all its selected agents together).

    Attributes:
        rate: events per second.
        distribution: "poisson" (exponential gaps) or "uniform" (mean gap +- jitter).
        jitter: for "uniform", the gap varies by +- this fraction of the mean gap (0..1).
    """

    rate: float
    distribution: str = "poisson"
    jitter: float = 0.0

    def next_gap(self, rng: random.Random) -> float:
        """Seconds until the next event."""
        if self.distribution == "poisson":
            return rng.expovariate(self.rate)
        mean = 1.0 / self.rate
        return mean * (1.0 + rng.uniform(-self.jitter, self.jitter)) if self.jitter else mean


@dataclass(frozen=True, slots=True)
class BehaviourSpec:
    """One ``behaviours:`` entry.

    Attributes:
        kind: behaviour family (a key of ``OPTIONS``).
        name: label for logs (default ``<kind><position>``).
        start: seconds after the fleet start.
        stop: seconds after the fleet start (None: until the run ends).
        agents: which agents.
        rate: for time-driven kinds.
        options: the per-kind options with defaults filled in.
    """

    kind: str
    name: str
    start: float = 0.0
    stop: float | None = None
    agents: AgentSelection = AgentSelection()
    rate: Rate | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def opt(self, key: str) -> Any:
        """A per-kind option (its default when the scenario left it out)."""
        if key in self.options:
            return self.options[key]
        return OPTIONS[self.kind][key].default


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """One ``faults:`` entry: the sans-I/O fault and the agents that carry it."""

    spec: FaultSpec
    agents: AgentSelection = AgentSelection()


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from text parts (``hash()`` is salted per process; this is not)."""
    return int.from_bytes(hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


# -- parsing --------------------------------------------------------------------------------------------
def _entries(r: Reader, doc: Node, key: str) -> list[tuple[Node, str]]:
    raw = doc.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise r.fail(doc, key, key, "expected a list of entries (- kind: ...)")
    out = []
    for i, node in enumerate(raw):
        kp = f"{key}[{i}]"
        if not isinstance(node, Node):
            raise ConfigError(r.file, doc.line_of(key), kp, "expected a mapping with a kind: key")
        out.append((node, kp))
    return out


def _window(r: Reader, node: Node, kp: str) -> tuple[float, float | None]:
    start = r.number(node, "start", f"{kp}.start", 0, minimum=0)
    stop = None
    if node.get("stop") is not None:
        stop = r.number(node, "stop", f"{kp}.stop", 0, minimum=0)
        if stop <= start:
            raise r.fail(node, "stop", f"{kp}.stop", f"must be after start ({start:g}), got {stop:g}")
    return start, stop


def _agents(r: Reader, node: Node, kp: str, total: int) -> AgentSelection:
    if "agents" not in node:
        return AgentSelection()
    sub = node.get("agents")
    akp = f"{kp}.agents"
    if not isinstance(sub, Node):
        raise r.fail(node, "agents", akp, "expected a mapping with share:, count: or indexes:")
    r.known(sub, akp, _AGENT_KEYS)
    share = count = None
    if "share" in sub:
        share = r.number(sub, "share", f"{akp}.share", 1, minimum=0)
        if share > 1:
            raise r.fail(sub, "share", f"{akp}.share", f"expected a fraction in [0, 1], got {share:g}")
    if "count" in sub:
        count = int(r.number(sub, "count", f"{akp}.count", 1, minimum=0, integer=True))
    if share is not None and count is not None:
        raise r.fail(sub, "count", f"{akp}.count", "use share or count, not both")
    ranges: list[tuple[int, int]] = []
    if "indexes" in sub:
        ranges = _ranges(r, sub, f"{akp}.indexes", total)
    return AgentSelection(share, count, tuple(ranges))


def _ranges(r: Reader, node: Node, kp: str, total: int) -> list[tuple[int, int]]:
    """``"0-9,20"``, ``[0, 5, "10-19"]``: inclusive ranges -> half-open tuples."""
    raw = node.get("indexes")
    items = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for item in items:
        text = str(item).strip()
        lo_text, sep, hi_text = text.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if sep else lo
        except ValueError:
            raise r.fail(node, "indexes", kp, f"expected index ranges like 0-9,20, got {text!r}") from None
        if lo < 0 or hi < lo:
            raise r.fail(node, "indexes", kp, f"invalid range {text!r}")
        if lo >= total:
            raise r.fail(node, "indexes", kp, f"index {lo} is beyond the fleet ({total} agents)")
        out.append((lo, hi + 1))
    return out


def _option(r: Reader, node: Node, key: str, kp: str, opt: Opt) -> Any:
    value = node.get(key)
    if opt.type in ("number", "int"):
        got = r.number(node, key, kp, 0, minimum=opt.minimum, integer=opt.type == "int")
        if opt.maximum is not None and got > opt.maximum:
            raise r.fail(node, key, kp, f"expected at most {opt.maximum:g}, got {got:g}")
        return int(got) if opt.type == "int" else got
    if opt.type == "bool":
        return r.flag(node, key, kp, bool(opt.default))
    if opt.type in ("strs", "ints"):
        if not isinstance(value, list) or not value:
            raise r.fail(node, key, kp, "expected a non-empty list")
        if opt.type == "strs":
            return tuple(str(v) for v in value)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= opt.minimum for v in value):
            raise r.fail(node, key, kp, f"expected a list of integers >= {opt.minimum:g}")
        return tuple(value)
    text = r.string(node, key, kp, None) or ""
    if opt.type == "choice" and text not in opt.choices:
        raise r.fail(node, key, kp, f"expected one of {', '.join(opt.choices)}, got {text!r}")
    return text


def parse_behaviours(r: Reader, doc: Node, total: int) -> tuple[BehaviourSpec, ...]:
    """Read and validate the ``behaviours:`` list.

    Raises:
        ConfigError: unknown kind or key, bad value (file, line, key path).
    """
    out = []
    for i, (node, kp) in enumerate(_entries(r, doc, "behaviours")):
        kind = r.string(node, "kind", f"{kp}.kind", None)
        if kind not in OPTIONS:
            reason = f"expected one of {', '.join(OPTIONS)}, got {kind!r}"
            raise r.fail(node, "kind" if "kind" in node else "", f"{kp}.kind", reason)
        options = OPTIONS[kind]
        rated = kind in _RATED
        r.known(node, kp, _COMMON | (_RATE_KEYS if rated else frozenset()) | frozenset(options))
        name = r.string(node, "name", f"{kp}.name", f"{kind}{i}") or f"{kind}{i}"
        start, stop = _window(r, node, kp)
        rate = None
        if rated:
            if "rate" not in node:
                raise r.fail(node, "", f"{kp}.rate", f"{kind} needs rate: (events per second)")
            value = r.number(node, "rate", f"{kp}.rate", 1, minimum=0)
            if value <= 0:
                raise r.fail(node, "rate", f"{kp}.rate", "must be > 0")
            dist = r.string(node, "distribution", f"{kp}.distribution", "poisson")
            if dist not in ("poisson", "uniform"):
                reason = f"expected poisson or uniform, got {dist!r}"
                raise r.fail(node, "distribution", f"{kp}.distribution", reason)
            jitter = r.number(node, "jitter", f"{kp}.jitter", 0, minimum=0)
            if jitter > 1:
                raise r.fail(node, "jitter", f"{kp}.jitter", f"expected a fraction in [0, 1], got {jitter:g}")
            rate = Rate(value, dist, jitter)
        values: dict[str, Any] = {}
        for key, opt in options.items():
            if key in node:
                values[key] = _option(r, node, key, f"{kp}.{key}", opt)
            elif opt.required:
                raise r.fail(node, "", f"{kp}.{key}", f"{kind} needs {key}:")
        _check(r, node, kp, kind, values)
        agents = _agents(r, node, kp, total)
        out.append(BehaviourSpec(kind, name, start, stop, agents, rate, MappingProxyType(values)))
    return tuple(out)


def _check(r: Reader, node: Node, kp: str, kind: str, values: dict[str, Any]) -> None:
    """Cross-key checks of one behaviour."""
    for path in values.get("params", ()):
        if not path.startswith("Device.") or path.endswith(".") or "*" in path or "{" in path:
            reason = f"expected a full parameter path (Device.WiFi.Radio.1.Channel), got {path!r}"
            raise r.fail(node, "params", f"{kp}.params", reason)
    low, high = values.get("downtime"), values.get("downtime_max")
    if high is not None and high < (low if low is not None else 2.0):
        raise r.fail(node, "downtime_max", f"{kp}.downtime_max", "must be >= downtime")
    if kind == "bulk_data" and values.get("protocol") == "HTTP" and not values.get("url"):
        raise r.fail(node, "protocol", f"{kp}.url", "protocol HTTP needs url: (the collector)")
    if "{version" not in values.get("url", "{version}") and kind == "firmware_campaign":
        reason = "must contain {version} (the agent reads the version from the file name)"
        raise r.fail(node, "url", f"{kp}.url", reason)


def parse_faults(r: Reader, doc: Node, total: int) -> tuple[FaultConfig, ...]:
    """Read and validate the ``faults:`` list.

    Raises:
        ConfigError: unknown kind or key, bad value (file, line, key path).
    """
    kinds = {k.value: k for k in FaultKind}
    out = []
    for node, kp in _entries(r, doc, "faults"):
        r.known(node, kp, _FAULT_KEYS)
        name = r.string(node, "kind", f"{kp}.kind", None)
        if name not in kinds:
            reason = f"expected one of {', '.join(kinds)}, got {name!r}"
            raise r.fail(node, "kind" if "kind" in node else "", f"{kp}.kind", reason)
        kind = kinds[name]
        if "rate" not in node:
            raise r.fail(node, "", f"{kp}.rate", "a fault needs rate: (probability per answered request)")
        rate = r.number(node, "rate", f"{kp}.rate", 0, minimum=0)
        if rate > 1:
            raise r.fail(node, "rate", f"{kp}.rate", f"expected a probability in [0, 1], got {rate:g}")
        messages: frozenset[str] = frozenset()
        if "messages" in node:
            raw = node.get("messages")
            items = raw if isinstance(raw, list) else [raw]
            bad = [m for m in items if m not in _MESSAGES]
            if bad or not items:
                reason = f"expected request types among {', '.join(sorted(_MESSAGES))}, got {bad or items!r}"
                raise r.fail(node, "messages", f"{kp}.messages", reason)
            messages = frozenset(str(m) for m in items)
        start, stop = _window(r, node, kp)
        default_delay = 11.0 if kind is FaultKind.LATE else 0.0
        delay = r.number(node, "delay", f"{kp}.delay", default_delay, minimum=0)
        jitter = r.number(node, "jitter", f"{kp}.jitter", 0, minimum=0)
        code = int(r.number(node, "error_code", f"{kp}.error_code", 7003, minimum=7000, integer=True))
        if code > 7999:
            reason = f"expected a USP error code 7000-7999, got {code}"
            raise r.fail(node, "error_code", f"{kp}.error_code", reason)
        mode = r.string(node, "mode", f"{kp}.mode", "error")
        if mode not in ("error", "missing"):
            raise r.fail(node, "mode", f"{kp}.mode", f"expected error or missing, got {mode!r}")
        leaves: tuple[str, ...] = ONBOARDING_LEAVES
        if "leaves" in node:
            raw = node.get("leaves")
            if not isinstance(raw, list) or not raw or any(v not in ONBOARDING_LEAVES for v in raw):
                reason = f"expected a list among {', '.join(ONBOARDING_LEAVES)}"
                raise r.fail(node, "leaves", f"{kp}.leaves", reason)
            leaves = tuple(str(v) for v in raw)
        spec = FaultSpec(kind, rate, messages, start, stop, delay, jitter, code, str(mode), leaves)
        out.append(FaultConfig(spec, _agents(r, node, kp, total)))
    return tuple(out)
