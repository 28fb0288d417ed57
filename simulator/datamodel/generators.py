"""Per-agent value generators (docs/datamodel-format.md "Generators"): a closed set, computed on read.

Every generator is a pure function of (persona, instance numbers, now); nothing is stored per agent.
"""

from __future__ import annotations

import ipaddress
import math
import string
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from simulator.datamodel.personas import Persona, mix
from simulator.datamodel.types import format_datetime
from simulator.usp.errors import UspError

_POOL_SIZE = 1024
_POOLS: dict[tuple[str, str], tuple[str, ...]] = {}
_TEMPLATE_FIELDS = frozenset({"index", "endpoint_id", "instance", "instances", "seed"})
_INDEX_ONLY = frozenset({"index"})
_UNIT = 1.0 / (1 << 64)
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MULT = 0xD6E8FEB86659FD93
_OCTAVE_KEYS = (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0)
"""Per-octave constants XORed into a walk's key (digits of pi): no hashing needed per octave."""


def fmix(x: int) -> int:
    """One 64-bit multiply-xorshift round: cheap, deterministic in every process (no ``hash()``)."""
    x = (x ^ (x >> 32)) * _MULT & _MASK64
    return x ^ (x >> 29)


def noise_key(seed: int, key: int, inst: tuple[int, ...]) -> int:
    """64-bit key of (agent seed, generator key, instance numbers) for the time-noise generators."""
    h = fmix((seed * _GOLDEN ^ key) & _MASK64)
    for n in inst:
        h = fmix((h + n * _GOLDEN) & _MASK64)
    return h


def faker_pool(provider: str, locale: str = "en_US") -> tuple[str, ...]:
    """Values of a Faker provider, generated once per process with a fixed seed.

    Raises:
        ValueError: unknown provider.
    """
    key = (provider, locale)
    pool = _POOLS.get(key)
    if pool is None:
        from faker import Faker  # imported lazily: only profiles using faker pay for it

        fake = Faker(locale)
        fake.seed_instance(20240101)
        method = getattr(fake, provider, None)
        if provider.startswith("_") or not callable(method):
            msg = f"unknown faker provider {provider!r}"
            raise ValueError(msg)
        pool = tuple(str(method()) for _ in range(_POOL_SIZE))
        _POOLS[key] = pool
    return pool


_datetime_text = lru_cache(maxsize=4096)(format_datetime)
"""``format_datetime`` of whole seconds, memoised: boot times repeat on every read, ``now`` per second."""


class Generator:
    """Base class: ``value(persona, inst, now)`` returns the canonical string value."""

    __slots__ = ("kind", "salt")
    dynamic = False
    """True when the value changes with ``now``."""

    def __init__(self, kind: str, salt: int) -> None:
        self.kind = kind
        self.salt = salt

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        """Compute the value for one agent and instance at time ``now``."""
        raise NotImplementedError

    def _hash(self, persona: Persona, inst: tuple[int, ...], *extra: int) -> int:
        return mix(persona.seed, self.salt, *inst, *extra)

    def samples(self) -> list[str]:
        """Values this generator can produce, for load-time type checking.

        Exhaustive for generators with a finite literal set (``choice``, ``faker``) and the extremes
        of ``wave``/``walk``; a few representative agents/instances/times for the others.
        """
        now = _SAMPLE_NOW
        return [
            self.value(Persona(index, boot_time=now - 3600.0), inst, now + dt)
            for index in (0, 1, 999)
            for inst in ((), (1,), (7, 2))
            for dt in (0.0, 61.5)
        ]

    def conform(self, normalize: Callable[[str], str]) -> None:
        """Make every produced value the canonical lexical form of the parameter type.

        ``normalize`` is the parameter type's ``TypeSpec.normalize``. Generators with a literal value
        set are normalised in place (``values: [true, false]`` on a boolean gives ``"true"``); the
        others must already produce canonical values.

        Raises:
            ValueError: a value is invalid for the type, or not canonical and not rewritable.
        """
        for sample in dict.fromkeys(self.samples()):
            canonical = _checked(normalize, sample, self.kind)
            if canonical != sample:
                msg = f"gen {self.kind} produces {sample!r}, which is not canonical (expected {canonical!r})"
                raise ValueError(msg)

    def __repr__(self) -> str:
        return f"<Generator {self.kind}>"


class Template(Generator):
    """``str.format`` over persona fields."""

    __slots__ = ("fields", "fmt")

    def __init__(self, salt: int, fmt: str) -> None:
        super().__init__("template", salt)
        fields = set()
        for _, field, _, _ in string.Formatter().parse(fmt):
            if field is not None and field not in _TEMPLATE_FIELDS:
                msg = f"template field {{{field}}} not allowed; use {', '.join(sorted(_TEMPLATE_FIELDS))}"
                raise ValueError(msg)
            if field is not None:
                fields.add(field)
        self.fmt = fmt
        self.fields = frozenset(fields)
        """The fields ``fmt`` uses: only those are computed on read."""

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        fields = self.fields
        if fields == _INDEX_ONLY:  # the common case: SIM{index:08d}
            return self.fmt.format(index=persona.index)
        return self.fmt.format(
            index=persona.index,
            endpoint_id=persona.endpoint_id if "endpoint_id" in fields else "",
            instance=inst[-1] if inst else 0,
            instances=".".join(map(str, inst)) if "instances" in fields else "",
            seed=persona.seed,
        )


class Choice(Generator):
    """One of a fixed list, per agent and instance."""

    __slots__ = ("values",)

    def __init__(self, salt: int, values: tuple[str, ...], kind: str = "choice") -> None:
        super().__init__(kind, salt)
        if not values:
            msg = "needs a non-empty list of values"
            raise ValueError(msg)
        self.values = values

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        return self.values[self._hash(persona, inst) % len(self.values)]

    def samples(self) -> list[str]:
        return list(self.values)

    def conform(self, normalize: Callable[[str], str]) -> None:
        values = tuple(_checked(normalize, v, self.kind) for v in self.values)
        if values != self.values:  # keep sharing the faker pool when nothing changes
            self.values = values


class Address(Generator):
    """MAC / IPv4 / IPv6 address: base + index*step + offset + (instance-1)*instance_step."""

    __slots__ = ("base", "instance_step", "is_mac", "net", "offset", "size", "step")

    def __init__(self, salt: int, kind: str, base: str, step: int, offset: int, instance_step: int) -> None:  # noqa: PLR0917
        super().__init__(kind, salt)
        self.is_mac = kind == "mac"
        self.step, self.offset, self.instance_step = step, offset, instance_step
        self.net: Any = None
        if self.is_mac:
            digits = base.replace(":", "").replace("-", "")
            if len(digits) != 12:
                msg = f"base {base!r} is not a MAC address"
                raise ValueError(msg)
            self.base = int(digits, 16)
            self.size = 1 << 48
        else:
            net = ipaddress.ip_network(base, strict=False)
            if (kind == "ipv4") != (net.version == 4):
                msg = f"pool {base!r} is not an {kind} network"
                raise ValueError(msg)
            self.net = net
            self.base = int(net.network_address)
            self.size = max(net.num_addresses, 1)

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        n = persona.index * self.step + self.offset + ((inst[-1] - 1) * self.instance_step if inst else 0)
        if self.is_mac:
            v = (self.base + n) % self.size
            h = f"{v:012x}"
            return ":".join(h[i : i + 2] for i in range(0, 12, 2))
        return str(ipaddress.ip_address(self.base + n % self.size))


class Clock(Generator):
    """Time-derived values: uptime, boot_time, now."""

    __slots__ = ("offset",)
    dynamic = True

    def __init__(self, salt: int, kind: str, offset: float = 0) -> None:
        super().__init__(kind, salt)
        self.offset = offset

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        kind = self.kind
        if kind == "uptime":
            return str(max(0, int(now - persona.boot_time + self.offset)))
        return _datetime_text(int(persona.boot_time if kind == "boot_time" else now))


class Counter(Generator):
    """Monotonic counter growing at ``rate`` per second, scaled per agent by ``1 ± jitter``."""

    __slots__ = ("jitter", "rate", "start")
    dynamic = True

    def __init__(self, salt: int, rate: float, jitter: float, start: int) -> None:
        super().__init__("counter", salt)
        self.rate, self.jitter, self.start = rate, jitter, start

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        factor = 1.0 + self.jitter * (2.0 * self._hash(persona, inst) * _UNIT - 1.0)
        return str(self.start + int(self.rate * factor * max(0.0, now - persona.boot_time)))


class Wave(Generator):
    """Sine between min and max with a per-agent phase, plus deterministic per-second noise."""

    __slots__ = ("amp", "decimals", "hi", "key", "lo", "mid", "noise", "omega", "period")
    dynamic = True

    def __init__(self, salt: int, lo: float, hi: float, period: float, noise: float, decimals: int) -> None:  # noqa: PLR0917
        super().__init__("wave", salt)
        self.lo, self.hi, self.period, self.noise, self.decimals = lo, hi, period, noise, decimals
        self.key = mix(salt)
        self.mid, self.amp = (lo + hi) / 2.0, (hi - lo) / 2.0
        self.omega = 2.0 * math.pi / period

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        h = noise_key(persona.seed, self.key, inst)
        v = self.mid + self.amp * math.sin(self.omega * now + h * _PHASE)
        if self.noise:
            v += self.noise * (2.0 * fmix((h + int(now) * _GOLDEN) & _MASK64) * _UNIT - 1.0)
        return _fmt_num(min(self.hi, max(self.lo, v)), self.decimals)

    def samples(self) -> list[str]:
        return [_fmt_num(self.lo, self.decimals), _fmt_num(self.hi, self.decimals), *super().samples()]


class Walk(Generator):
    """Bounded random-walk-like curve: 3 octaves of smoothed value noise over ``interval`` knots.

    Knot heights are ``fmix(key ^ octave_key + k * golden)``: one multiply-xorshift round per knot.
    """

    __slots__ = ("decimals", "hi", "interval", "key", "lo", "scale")
    dynamic = True

    def __init__(self, salt: int, lo: float, hi: float, interval: float, decimals: int) -> None:
        super().__init__("walk", salt)
        self.lo, self.hi, self.interval, self.decimals = lo, hi, interval, decimals
        self.key = mix(salt)
        self.scale = (hi - lo) * _UNIT  # octave amplitudes sum to 1

    def value(self, persona: Persona, inst: tuple[int, ...], now: float) -> str:
        h = noise_key(persona.seed, self.key, inst)
        t0 = now / self.interval
        total = 0.0
        for amp, per, okey in _OCTAVES:
            t = t0 * per
            k = math.floor(t)
            f = t - k
            f = f * f * (3.0 - 2.0 * f)  # smoothstep between knots
            x = ((h ^ okey) + k * _GOLDEN) & _MASK64
            a = (x ^ (x >> 32)) * _MULT & _MASK64
            a ^= a >> 29
            x = (x + _GOLDEN) & _MASK64
            b = (x ^ (x >> 32)) * _MULT & _MASK64
            b ^= b >> 29
            total += amp * (a + (b - a) * f)
        return _fmt_num(self.lo + self.scale * total, self.decimals)

    def samples(self) -> list[str]:
        return [_fmt_num(self.lo, self.decimals), _fmt_num(self.hi, self.decimals), *super().samples()]


_PHASE = 2.0 * math.pi * _UNIT
_OCTAVES = tuple(zip((0.6, 0.3, 0.1), (1.0, 0.25, 0.0625), _OCTAVE_KEYS, strict=True))
"""(amplitude, 1/period multiplier, key) per octave of a walk."""
_SAMPLE_NOW = 1_700_000_000.0


def _checked(normalize: Callable[[str], str], value: str, kind: str) -> str:
    try:
        return normalize(value)
    except UspError as exc:
        msg = f"gen {kind} value {value!r} is invalid: {exc.message}"
        raise ValueError(msg) from None


def literal(value: Any) -> str:
    """A YAML scalar as profile text: booleans as ``true``/``false``, null as ``""``, lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(literal(v) for v in value)
    return str(value)


def _fmt_num(v: float, decimals: int) -> str:
    return str(round(v)) if decimals <= 0 else f"{v:.{decimals}f}"


_OPTIONS: dict[str, frozenset[str]] = {
    "template": frozenset({"format"}),
    "choice": frozenset({"values"}),
    "faker": frozenset({"provider", "locale"}),
    "mac": frozenset({"base", "step", "offset", "instance_step"}),
    "ipv4": frozenset({"pool", "step", "offset", "instance_step"}),
    "ipv6": frozenset({"pool", "step", "offset", "instance_step"}),
    "uptime": frozenset({"offset"}),
    "boot_time": frozenset(),
    "now": frozenset(),
    "counter": frozenset({"rate", "jitter", "start"}),
    "wave": frozenset({"min", "max", "period", "noise", "decimals"}),
    "walk": frozenset({"min", "max", "interval", "decimals"}),
}
GENERATOR_KINDS = tuple(_OPTIONS)
"""Every supported ``gen`` name."""


def make_generator(spec: dict[str, Any], salt: int) -> Generator:
    """Build a generator from its YAML mapping (``{gen: counter, rate: 5}``).

    Raises:
        ValueError: unknown generator, unknown/missing option or bad option value (the message says which).
    """
    kind = spec.get("gen")
    if kind not in _OPTIONS:
        msg = f"unknown generator {kind!r}; expected one of {', '.join(GENERATOR_KINDS)}"
        raise ValueError(msg)
    extra = set(spec) - {"gen"} - _OPTIONS[kind]
    if extra:
        msg = (
            f"unknown option(s) {', '.join(sorted(extra))} for gen {kind}; expected {sorted(_OPTIONS[kind])}"
        )
        raise ValueError(msg)

    def need(key: str) -> Any:
        if key not in spec:
            msg = f"gen {kind} needs {key!r}"
            raise ValueError(msg)
        return spec[key]

    try:
        if kind == "template":
            return Template(salt, str(need("format")))
        if kind == "choice":
            values = need("values")
            if not isinstance(values, list):
                msg = "values must be a list"
                raise ValueError(msg)
            return Choice(salt, tuple(literal(v) for v in values))
        if kind == "faker":
            return Choice(salt, faker_pool(str(need("provider")), str(spec.get("locale", "en_US"))), "faker")
        if kind in ("mac", "ipv4", "ipv6"):
            base = need("base" if kind == "mac" else "pool")
            return Address(
                salt,
                kind,
                str(base),
                int(spec.get("step", 1)),
                int(spec.get("offset", 0 if kind == "mac" else 1)),
                int(spec.get("instance_step", 1)),
            )
        if kind in ("uptime", "boot_time", "now"):
            return Clock(salt, kind, float(spec.get("offset", 0)))
        if kind == "counter":
            return Counter(
                salt, float(need("rate")), float(spec.get("jitter", 0.2)), int(spec.get("start", 0))
            )
        lo, hi = float(need("min")), float(need("max"))
        if hi < lo:
            msg = f"max {hi} is below min {lo}"
            raise ValueError(msg)
        if kind == "wave":
            return Wave(
                salt,
                lo,
                hi,
                float(spec.get("period", 3600)),
                float(spec.get("noise", 0)),
                int(spec.get("decimals", 0)),
            )
        return Walk(salt, lo, hi, float(spec.get("interval", 60)), int(spec.get("decimals", 0)))
    except (TypeError, ValueError) as exc:
        msg = f"gen {kind}: {exc}"
        raise ValueError(msg) from None
