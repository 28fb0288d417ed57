"""A bounded HTTP/1.1 POST over asyncio streams for Bulk Data reports (no HTTP client dependency)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

__all__ = ["post"]

_MAX_HEADER = 64 * 1024


async def post(
    url: str,
    body: bytes,
    headers: tuple[tuple[str, str], ...] = (),
    *,
    timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
    method: str = "POST",
) -> int:
    """POST (or PUT) ``body`` to ``url`` and return the HTTP status code (the response body is discarded).

    Args:
        url: ``http://`` or ``https://`` URL.
        body: request body.
        headers: extra request headers (Content-Type, BBF-Report-Format, ...).
        timeout: seconds for the whole exchange.
        ssl_context: TLS context for https (default: system trust store, verification on).

    Returns:
        The status code.

    Raises:
        ValueError: not an http(s) URL, or an unparsable status line.
        OSError: the collector cannot be reached.
        TimeoutError: no complete status line within ``timeout``.
    """
    if method not in ("POST", "PUT"):  # Profile.{i}.HTTP.Method is an enumeration of these two
        msg = f"unsupported HTTP method {method!r} (expected POST or PUT)"
        raise ValueError(msg)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"not an http(s) URL: {url!r}"
        raise ValueError(msg)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in headers]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(
            parts.hostname,
            port,
            ssl=(ssl_context or ssl.create_default_context()) if tls else None,
            limit=_MAX_HEADER,
        )
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    fields = status_line.decode("latin-1").split()
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        msg = f"bad HTTP status line from {url}: {status_line[:80]!r}"
        raise ValueError(msg)
    return int(fields[1])
