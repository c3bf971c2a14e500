"""Clients over Ray Serve deployment handles with the same shape as the in-process objects,
so the router, the gateway and the services never see Ray."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle, DeploymentResponseGenerator

from twincore.model_core.backends.base import CoreRequest
from twincore.platform.router.types import CoreEvent, CoreFailure, RouteEvent, RouteRequest


async def _stream(response: DeploymentResponseGenerator[Any]) -> AsyncGenerator[Any, None]:
    """Items of a streaming call; leaving early cancels the call in the replica."""
    finished = False
    try:
        async for item in response:
            yield item
        finished = True
    finally:
        if not finished:
            response.cancel()  # type: ignore[no-untyped-call]


class HandleCore:
    """A core deployment (`CoreServer`) as a `CoreClient`."""

    out_of_process = True
    """Its calls cross to a replica: the router caches its health (`Router.health_cache_s`)."""

    def __init__(self, name: str, handle: DeploymentHandle[Any]) -> None:
        self.name, self._handle = name, handle

    def generate(self, request: CoreRequest) -> AsyncGenerator[CoreEvent, None]:
        response = self._handle.options(stream=True).generate.remote(request)
        return self._refused_when_full(_stream(cast(DeploymentResponseGenerator[Any], response)))

    async def _refused_when_full(
        self, events: AsyncGenerator[CoreEvent, None]
    ) -> AsyncGenerator[CoreEvent, None]:
        """The core's events; Serve's queue limit (`max_queued_requests`) refusing the call
        becomes a `busy` failure, so the router falls back without cooling the core."""
        try:
            async for event in events:
                yield event
        except BackPressureError as error:
            yield CoreFailure(self.name, f"{self.name} is busy: {error}", condition="busy")
        finally:
            await events.aclose()

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._handle.health.remote()
        return result

    async def info(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._handle.info.remote()
        return result


class RouterHandleClient:
    """The router deployment as a `RouterClient`."""

    def __init__(self, handle: DeploymentHandle[Any]) -> None:
        self._handle = handle

    def stream(self, request: RouteRequest) -> AsyncGenerator[RouteEvent, None]:
        response = self._handle.options(stream=True).stream.remote(request)
        return _stream(cast(DeploymentResponseGenerator[Any], response))

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._handle.health.remote()
        return result

    async def models(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = await self._handle.models.remote()
        return result


class ServiceHandleClient:
    """A service deployment as its routes see it: `await client.method(...)`."""

    def __init__(self, handle: DeploymentHandle[Any]) -> None:
        self._handle = handle

    def __getattr__(self, method: str) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._handle.call.remote(method, *args, **kwargs)

        return call

    def stream_call(self, method: str, /, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """The items of the service's async-generator method, as the replica yields them."""
        response = self._handle.options(stream=True).stream.remote(method, *args, **kwargs)
        return _stream(cast(DeploymentResponseGenerator[Any], response))
