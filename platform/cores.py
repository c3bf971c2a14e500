"""`CoreServer`: one model core as the router sees it, in-process or as a Ray Serve deployment.

It wraps a `CoreBackend` and turns the ways a request can fail before its first token into a
`CoreFailure` event, so the failure crosses process boundaries as data: the router can then tell
a bad request (no fallback) from a broken core (fallback) without unpickling exception types.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import torch

from twincore.model_core.backends.base import CoreBackend, CoreRequest
from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.model_core.backends.openai import OpenAIBackend, RemoteCoreError
from twincore.model_core.engine.types import Chunk, EngineConfig, QueueFullError
from twincore.platform.router.types import CoreEvent, CoreFailure
from twincore.platform.serve_options import lower_process_priority
from twincore.platform.settings import CoreConfig

logger = logging.getLogger(__name__)

# Remote statuses that mean the request itself is wrong; anything else is the core's problem.
CLIENT_ERROR_STATUSES = frozenset({400, 413, 422})
CORE_NICENESS = 10
"""A native core decodes on every CPU for as long as it has work; at this niceness the gateway
and the services, which answer in milliseconds, still get a CPU at once (without it, 20 users on
2 CPUs gave even /healthz a p95 of 440 ms)."""


def _in_serve_replica() -> bool:
    from ray import serve
    from ray.serve.exceptions import RayServeException

    try:
        serve.get_replica_context()
    except RayServeException:
        return False
    return True


def build_backend(name: str, config: CoreConfig, *, data_dir: Path) -> CoreBackend:
    """The backend a core's settings describe."""
    if config.backend == "openai":
        return OpenAIBackend.from_config(name, config)
    return NativeBackend(core_profile(name, config), data_dir=data_dir)


def core_profile(name: str, config: CoreConfig) -> CoreProfile:
    """The native engine's profile from a core's settings."""
    engine = EngineConfig(
        max_running=config.max_running,
        max_waiting=config.max_waiting,
        kv_memory_bytes=config.kv_memory_mb * 2**20,
    )
    return CoreProfile(
        name=name,
        model=config.model,
        quantization=config.quantization,
        engine=engine,
        device=config.device,
        draft=config.draft,
    )


class CoreServer:
    """Serves one core's requests and reports its health and identity."""

    def __init__(self, name: str, config: CoreConfig, *, data_dir: Path) -> None:
        if config.backend == "native":
            # Ray pins OMP threads to the replica's CPU share; the engine wants the configured
            # number (default: every core of the machine).
            torch.set_num_threads(config.threads or os.cpu_count() or 1)
            if _in_serve_replica():  # a process of its own: in-process, it would slow its host
                lower_process_priority(CORE_NICENESS)
        self.name = name
        self.backend = build_backend(name, config, data_dir=data_dir)

    @classmethod
    def from_backend(cls, backend: CoreBackend) -> CoreServer:
        """Serve an already built backend (tests, embedding)."""
        server = cls.__new__(cls)
        server.name, server.backend = backend.name, backend
        return server

    async def generate(self, request: CoreRequest) -> AsyncGenerator[CoreEvent, None]:
        """The backend's chunks, or a single CoreFailure when it cannot start."""
        stream = self.backend.generate(request)
        try:
            try:
                first = await anext(stream)
            except StopAsyncIteration:
                return
            except Exception as error:
                yield self._failure(error)
                return
            yield first
            try:
                async for chunk in stream:
                    yield chunk
            except Exception as error:  # mid-stream: text already went out, so no fallback
                logger.exception("core %s failed mid-stream", self.name)
                yield Chunk(
                    request.request_id, 0, (), "", finish_reason="error", error=_describe(error)
                )
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _failure(self, error: Exception) -> CoreFailure:
        if isinstance(error, QueueFullError):
            client = False
        elif isinstance(error, RemoteCoreError):
            client = error.status in CLIENT_ERROR_STATUSES
        else:
            client = isinstance(error, ValueError)  # prompt too long, parameter out of range
        if isinstance(error, QueueFullError):  # back-pressure: the router tries elsewhere
            return CoreFailure(self.name, _describe(error), condition="busy")
        if not client:
            logger.warning("core %s cannot serve: %s", self.name, _describe(error))
        return CoreFailure(self.name, str(error) if client else _describe(error), client=client)

    async def health(self) -> dict[str, Any]:
        # A remote backend's health check is a blocking HTTP call; keep it off the event loop.
        return {"core": self.name, **await asyncio.to_thread(self.backend.health)}

    async def info(self) -> dict[str, Any]:
        return self.backend.info()

    async def aclose(self) -> None:
        if isinstance(self.backend, NativeBackend):
            self.backend.close()
        elif isinstance(self.backend, OpenAIBackend):
            await self.backend.aclose()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
