"""Per-agent identity (index, endpoint ID, seed, boot time) from which generated values are computed."""

from __future__ import annotations

_MASK64 = (1 << 64) - 1


def mix(*values: int) -> int:
    """Deterministic 64-bit hash of integers (splitmix64 finaliser chain; stable across processes)."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & _MASK64
        h ^= h >> 29
    return h


class Persona:
    """Who an agent is: everything generators may depend on besides the read time.

    Attributes:
        index: the agent's index in the fleet (0-based or 1-based, as the fleet chooses).
        endpoint_id: the agent's USP endpoint ID.
        seed: 32-bit per-agent seed derived from the index and the fleet seed.
        boot_time: seconds since the epoch at which the agent (re)booted.
    """

    __slots__ = ("boot_time", "endpoint_id", "index", "seed")

    def __init__(
        self, index: int, endpoint_id: str = "", *, boot_time: float = 0.0, fleet_seed: int = 0
    ) -> None:
        self.index = index
        self.endpoint_id = endpoint_id or f"os::00D09E-SIM{index:08d}"
        self.seed = mix(index, fleet_seed) & 0xFFFFFFFF
        self.boot_time = boot_time

    def __repr__(self) -> str:
        return f"Persona(index={self.index}, endpoint_id={self.endpoint_id!r})"
