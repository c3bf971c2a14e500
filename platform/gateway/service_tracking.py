"""Service calls in the request log, from the REST API and from the Gradio screens alike.

A service answer that went through checker-driven escalation carries a `twincore` block
(router/escalation.py: core, verdict, attempts). Every service client the gateway holds is
wrapped here: inside an API request, the block fills that request's log row; a call from a
screen (which has no API request around it) gets a row of its own, `source = "ui"`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from twincore.platform.gateway.tracking import RequestLogWriter, RequestRecord

current_record: ContextVar[RequestRecord | None] = ContextVar("twincore_record", default=None)
"""The API request being served (set by the tracking middleware); None outside one."""


def twincore_block(result: Any) -> Mapping[str, Any] | None:
    """The escalation block of a service result (a dict or a response model), if it has one:
    at its top level, or one level down (a streamed `result` event carries it in its draft)."""
    block = result.get("twincore") if isinstance(result, Mapping) else None
    if block is None:
        block = getattr(result, "twincore", None)
    if block is None and isinstance(result, Mapping):
        nested = [v.get("twincore") for v in result.values() if isinstance(v, Mapping)]
        block = next((b for b in nested if b is not None), None)
    if isinstance(block, Mapping) and isinstance(block.get("attempts"), list):
        return block
    return None


def progress_core(item: Any) -> str | None:
    """The core a streamed progress item says it is answering on, if it says: a `core` field
    (writing's drafts) or a `decision` carrying one (codegen's loop events)."""
    for source in (item, item.get("decision") if isinstance(item, Mapping) else None,
                   getattr(item, "decision", None)):  # fmt: skip
        core = source.get("core") if isinstance(source, Mapping) else None
        if isinstance(core, str) and core:
            return core
    return None


CANCELLED = "cancelled by client"
"""The log's reason for a call the user stopped (a screen's Stop, a closed tab)."""


def note_block(record: RequestRecord, service: str, block: Mapping[str, Any]) -> None:
    """Copy what the block says about the answer into the request's log row."""
    record.service = service
    record.core = block.get("core") or record.core
    decision = block.get("decision")
    if isinstance(decision, Mapping):
        record.decision = dict(decision)
    verdict = block.get("verdict")
    if isinstance(verdict, Mapping) and isinstance(verdict.get("passed"), bool):
        record.verified = verdict["passed"]
    attempts = [dict(a) for a in block["attempts"] if isinstance(a, Mapping)]
    record.attempts = attempts
    record.completion_tokens += sum(int(a.get("tokens") or 0) for a in attempts)


class TrackedServiceClient:
    """A service client (in-process or a Ray handle) whose answers reach the request log."""

    def __init__(self, client: Any, service: str, writer: RequestLogWriter) -> None:
        self._client, self._service, self._writer = client, service, writer

    def __getattr__(self, method: str) -> Callable[..., Any]:
        inner = getattr(self._client, method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            with _Tracked(self, method) as tracked:
                result = await inner(*args, **kwargs)
                tracked.saw(result)
                return result

        return call

    def stream_call(self, method: str, /, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """The service's streamed items; the last item with a `twincore` block is noted."""

        async def items() -> AsyncGenerator[Any, None]:
            with _Tracked(self, method) as tracked:
                async for item in self._client.stream_call(method, *args, **kwargs):
                    tracked.saw(item)
                    yield item

        return items()


class _Tracked:
    """One service call: notes the block on the API request's row, or writes a `ui` row."""

    def __init__(self, client: TrackedServiceClient, method: str) -> None:
        self.client, self.method = client, method
        self.api = current_record.get()
        self.record = self.api or RequestRecord(
            request_id=f"ui-{uuid.uuid4().hex[:20]}",
            method="CALL",
            path=f"/ui/{client._service}/{method}"[:512],
            source="ui",
        )
        self.seen = False
        self.started = time.perf_counter()

    def saw(self, result: Any) -> None:
        self.record.core = progress_core(result) or self.record.core
        block = twincore_block(result)
        if block is not None:
            note_block(self.record, self.client._service, block)
            self.seen = True

    def __enter__(self) -> _Tracked:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any
    ) -> None:
        # A stream closed after its result arrived is done, not cancelled.
        cancelled = isinstance(error, asyncio.CancelledError | GeneratorExit) and not self.seen
        if self.api is not None:
            self.api.service = self.api.service or self.client._service
            if cancelled:  # the middleware keeps a reason already set
                self.api.status_code, self.api.error = 499, CANCELLED
            return
        if cancelled:
            # Stopped mid-stream: a plain reason and the core it was on, not "CancelledError: ".
            self.record.status_code = 499
            self.record.error = CANCELLED
        elif error is not None and not isinstance(error, asyncio.CancelledError | GeneratorExit):
            # A screen's failed call is worth a row; a listing is not.
            self.record.status_code = 500
            self.record.error = f"{type(error).__name__}: {error}"[:2000]
        elif not self.seen:
            return
        else:
            self.record.status_code = 200
        self.record.service = self.client._service
        self.record.duration_ms = (time.perf_counter() - self.started) * 1000
        self.client._writer.submit(self.record)
