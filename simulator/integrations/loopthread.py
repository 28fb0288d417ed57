"""The sandbox's event loop: one daemon thread running ``asyncio.run``, driven from other threads."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from simulator.datamodel.errors import SimulatorError

__all__ = ["LoopThread", "SandboxError"]

T = TypeVar("T")


class SandboxError(SimulatorError):
    """The sandbox's loop thread is not running, or a cross-thread call timed out."""


class LoopThread:
    """One daemon thread running ``asyncio.run``; coroutines are submitted from other threads.

    Attributes:
        failure: the exception that ended the loop, if it crashed.
    """

    def __init__(self, name: str = "usp-sim-loop") -> None:
        """Create (not start) the thread."""
        self.name = name
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the loop accepts work."""
        return self._thread is not None and self._thread.is_alive() and self._loop is not None

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait until its loop runs.

        Raises:
            SandboxError: the loop did not start within ``timeout``.
        """
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._loop is None:
            msg = f"{self.name}: event loop did not start within {timeout:g} s ({self.failure!r})"
            raise SandboxError(msg)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # the thread's boundary: kept for the caller
            self.failure = exc
        finally:
            self._loop = None
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._stop.wait()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Any:
        if threading.current_thread() is self._thread:
            coro.close()
            msg = "a sandbox call was made from inside its own loop thread (it would deadlock)"
            raise SandboxError(msg)
        loop = self._loop
        if loop is None or not self.running:
            coro.close()
            msg = f"{self.name}: the event loop is not running" + (
                f" (it failed: {self.failure!r})" if self.failure else ""
            )
            raise SandboxError(msg)
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and block until it returns (or ``timeout`` seconds).

        Raises:
            SandboxError: the loop is not running, or the call timed out (the coroutine is cancelled).
        """
        fut = self._submit(coro)
        try:
            return fut.result(timeout)  # type: ignore[no-any-return]
        except TimeoutError:
            fut.cancel()
            msg = f"sandbox call timed out after {timeout:g} s"
            raise SandboxError(msg) from None

    async def arun(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Like ``run`` but awaited from another event loop (pytest-asyncio tests)."""
        fut = self._submit(coro)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except TimeoutError:
            fut.cancel()
            msg = f"sandbox call timed out after {timeout:g} s"
            raise SandboxError(msg) from None

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run a plain function inside the loop thread (to read loop-owned objects safely)."""

        async def inner() -> T:
            return fn()

        return self.run(inner(), timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop (pending tasks are cancelled by ``asyncio.run``) and join the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)
