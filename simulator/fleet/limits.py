"""Process limits checked before a fleet opens any connection: one socket per agent needs file descriptors.

Each MQTT or WebSocket agent holds one socket, so a process owning N agents needs N descriptors plus a
reserve for the interpreter, the event loop, log files, the probe and the embedded broker. A fleet that
asks for more than ``RLIMIT_NOFILE`` allows would otherwise fail half-way through the ramp-up with
``OSError: [Errno 24] Too many open files`` spread over thousands of agents; ``check_fd_limit`` turns
that into one clear ``ConfigError`` naming the scenario, the key and the fix (``ulimit -n``).
"""

from __future__ import annotations

from simulator.fleet.yamlsource import ConfigError

__all__ = ["FD_RESERVE", "check_fd_limit", "fd_limits", "fds_needed"]

FD_RESERVE = 64
"""Descriptors kept for everything that is not an agent socket (stdio, loop, logs, probe, broker)."""


def fd_limits() -> tuple[int, int] | None:
    """``(soft, hard)`` RLIMIT_NOFILE of this process (``-1`` = unlimited), or None where unsupported."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (
        -1 if soft == resource.RLIM_INFINITY else int(soft),
        -1 if hard == resource.RLIM_INFINITY else int(hard),
    )


def fds_needed(agents: int, *, extra: int = 0) -> int:
    """Descriptors a process running ``agents`` socket-holding agents needs (plus ``extra``)."""
    return agents + FD_RESERVE + extra


def check_fd_limit(agents: int, *, source: str = "", key: str = "groups[].count", extra: int = 0) -> None:
    """Refuse, before any connection opens, a process that would run out of file descriptors.

    Args:
        agents: agents this process owns (each holds one socket).
        source: the scenario file (named in the error).
        key: the scenario key that sets the count (named in the error).
        extra: further descriptors this process needs (e.g. an embedded broker's sockets).

    Raises:
        ConfigError: the soft limit is too low; the message says how to raise it.
    """
    limits = fd_limits()
    if limits is None or agents <= 0:
        return
    soft, hard = limits
    need = fds_needed(agents, extra=extra)
    if soft < 0 or need <= soft:
        return
    if hard < 0 or need <= hard:
        allowed = "unlimited" if hard < 0 else hard
        fix = f"raise it in this shell with `ulimit -n {need}` (the hard limit allows up to {allowed})"
    else:
        fix = (
            f"the hard limit is {hard}: raise it (root: /etc/security/limits.conf `nofile`, systemd "
            f"LimitNOFILE=, docker --ulimit nofile={need}:{need}) then `ulimit -n {need}`; "
            "or split the fleet with --processes N / --shard"
        )
    reason = (
        f"{agents} agents need about {need} file descriptors (one socket each + {FD_RESERVE + extra} "
        f"reserved) but this process may open only {soft} (RLIMIT_NOFILE soft limit); {fix}"
    )
    raise ConfigError(source or "<scenario>", 0, key, reason)
