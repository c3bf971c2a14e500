"""`OpenAIBackend`: a core served by a remote OpenAI-compatible API, streamed over SSE.

The remote may be DeepSeek's or Moonshot's public API, a vLLM or SGLang server, or another
Twincore gateway. Failures before the first chunk (429, 5xx, connection errors) are retried with
exponential backoff; once text has reached the caller a retry could repeat it, so later failures
raise `RemoteCoreError` at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

import httpx

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk, FinishReason, Usage

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0
MAX_RETRY_AFTER_S = 60.0


class RemoteCoreSettings(Protocol):
    """The fields of a core's settings a remote backend needs (platform's CoreConfig has them);
    a protocol, so model_core does not depend on the platform package."""

    @property
    def backend(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def base_url(self) -> str | None: ...
    @property
    def api_key_env(self) -> str | None: ...


class RemoteCoreError(RuntimeError):
    """The remote API refused or failed a request; `status` is its HTTP status when it sent one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpenAIBackend:
    """Streams chat or prompt completions from a remote OpenAI-compatible endpoint."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name, self.model = name, model
        self.base_url = base_url.rstrip("/")
        self.max_retries, self.backoff_s = max_retries, backoff_s
        self.retries = 0
        """Retries made so far over every request (for tests and metrics)."""
        self._headers = {"Accept": "text/event-stream"}
        if api_key_env is not None:
            key = os.environ.get(api_key_env)
            if not key:
                raise ValueError(
                    f"core {name}: environment variable {api_key_env} (its API key) is not set"
                )
            self._headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s), transport=transport
        )
        logger.info("core %s: remote %s at %s", name, model, self.base_url)

    @classmethod
    def from_config(cls, name: str, config: RemoteCoreSettings) -> OpenAIBackend:
        """A backend for a core whose settings say `backend: openai`."""
        if config.backend != "openai" or not config.base_url:
            raise ValueError(f"core {name} is not configured as an openai backend with a base_url")
        return cls(
            name, base_url=config.base_url, model=config.model, api_key_env=config.api_key_env
        )

    async def generate(self, request: CoreRequest) -> AsyncIterator[Chunk]:
        request.params.validate()
        chat = request.prompt is None
        path = "/chat/completions" if chat else "/completions"
        body = self._body(request, chat=chat)
        response = await self._open(f"{self.base_url}{path}", body)
        try:
            async for chunk in _read_stream(response, request.request_id, chat=chat):
                yield chunk
        except httpx.HTTPError as error:
            raise RemoteCoreError(f"core {self.name}: stream broke: {error!r}") from error
        finally:
            # Closing the response drops the connection, which cancels the remote generation.
            await response.aclose()

    def _body(self, request: CoreRequest, *, chat: bool) -> dict[str, Any]:
        params: SamplingParams = request.params
        body: dict[str, Any] = {
            "model": self.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "n": params.n,
        }
        if chat:
            body["messages"] = [dict(message) for message in request.messages]
        else:
            body["prompt"] = request.prompt
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        if params.logprobs:
            # Chat takes a flag; the legacy completions API takes how many alternatives to list.
            body["logprobs"] = True if chat else 1
        # Not OpenAI fields: vLLM and SGLang accept them as extras, others may refuse them.
        if params.top_k > 0:
            body["top_k"] = params.top_k
        if params.repetition_penalty != 1.0:
            body["repetition_penalty"] = params.repetition_penalty
        if params.constraint is not None:
            response_format = self._response_format(params.constraint)
            if response_format is not None:
                body["response_format"] = response_format
        return body

    def _response_format(self, constraint: Constraint) -> dict[str, Any] | None:
        """A JSON constraint as OpenAI's `response_format`; the API has no regex or grammar, so
        those are refused, or dropped when the constraint is not strict (a service's guide)."""
        if constraint.kind == "json_object":
            return {"type": "json_object"}
        if constraint.kind == "json_schema":
            schema = json.loads(constraint.source)
            spec = {"name": "answer", "schema": schema, "strict": True}
            return {"type": "json_schema", "json_schema": spec}
        if not constraint.strict:
            return None
        # ValueError: the router answers 400, as for any request the core cannot take.
        raise ValueError(
            f"core {self.name} is a remote OpenAI-compatible API, which takes JSON schema and "
            f"JSON object constraints only, not a {constraint.kind} constraint (tools need a "
            "grammar too: serve them from a native core)"
        )

    async def _open(self, url: str, body: dict[str, Any]) -> httpx.Response:
        """Send the request, retrying throttling, server and connection errors with backoff."""
        for attempt in range(self.max_retries + 1):
            delay = self.backoff_s * 2**attempt
            try:
                response = await self._client.send(
                    self._client.build_request("POST", url, json=body, headers=self._headers),
                    stream=True,
                )
            except httpx.TransportError as error:
                failure = RemoteCoreError(f"core {self.name}: cannot reach {url}: {error!r}")
            else:
                if response.status_code == 200:
                    return response
                await response.aread()
                await response.aclose()
                failure = RemoteCoreError(
                    f"core {self.name}: {url} answered {response.status_code}: "
                    f"{error_message(response)}",
                    status=response.status_code,
                )
                if response.status_code != 429 and response.status_code < 500:
                    raise failure
                delay = _retry_after(response) if "retry-after" in response.headers else delay
            if attempt == self.max_retries:
                raise RemoteCoreError(
                    f"{failure} (gave up after {self.max_retries} retries)", status=failure.status
                ) from failure
            logger.warning("core %s: %s; retry in %.2fs", self.name, failure, delay)
            self.retries += 1
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def info(self) -> dict[str, Any]:
        return {
            "core": self.name,
            "backend": "openai",
            "base_url": self.base_url,
            "model": self.model,
        }

    def health(self) -> dict[str, Any]:
        url = f"{self.base_url}/models"
        try:
            response = httpx.get(url, headers=self._headers, timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError as error:
            return {"ok": False, "url": url, "error": f"{type(error).__name__}: {error}"}
        health: dict[str, Any] = {"ok": response.status_code == 200, "url": url}
        health["status"] = response.status_code
        if response.status_code != 200:
            health["error"] = error_message(response)
        return health

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_stream(
    response: httpx.Response, request_id: str, *, chat: bool
) -> AsyncIterator[Chunk]:
    """Turn the SSE events into chunks; the last finishing chunk carries the request's usage."""
    # The usage event comes after every choice has finished, so the latest finishing chunk waits
    # until the next event shows whether usage belongs on it.
    pending: Chunk | None = None
    usage: Usage | None = None
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            break
        event = json.loads(data)
        if "error" in event:
            raise RemoteCoreError(f"remote error mid-stream: {message_of(event)}")
        if event.get("usage"):
            usage = usage_from_openai(event["usage"])
        for choice in event.get("choices") or ():
            chunk = _chunk(choice, request_id, chat=chat)
            if chunk is None:
                continue
            if pending is not None:
                yield pending
                pending = None
            if chunk.finish_reason is None:
                yield chunk
            else:
                pending = chunk
    if pending is not None:
        yield replace(pending, usage=usage)
    elif usage is not None:
        yield Chunk(request_id, 0, (), "", finish_reason="stop", usage=usage)


def _chunk(choice: dict[str, Any], request_id: str, *, chat: bool) -> Chunk | None:
    """One choice of one event as a chunk; None for a delta with neither text nor an ending."""
    text = ((choice.get("delta") or {}).get("content") if chat else choice.get("text")) or ""
    reason = choice.get("finish_reason")
    if not text and reason is None:
        return None  # role-only or reasoning deltas
    finish: FinishReason | None = None
    if reason is not None:
        finish = "length" if reason == "length" else "stop"
    return Chunk(
        request_id,
        int(choice.get("index", 0)),
        (),
        text,
        logprobs=_logprobs(choice.get("logprobs"), chat=chat),
        finish_reason=finish,
    )


def _logprobs(raw: dict[str, Any] | None, *, chat: bool) -> tuple[float, ...] | None:
    if not raw:
        return None
    if chat:
        return tuple(float(item["logprob"]) for item in raw.get("content") or ())
    return tuple(float(value) for value in raw.get("token_logprobs") or ())


def usage_from_openai(raw: dict[str, Any]) -> Usage:
    """An OpenAI `usage` object as the engine's Usage."""
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Usage(
        int(raw.get("prompt_tokens", 0)), int(raw.get("completion_tokens", 0)), int(cached)
    )


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers["retry-after"]), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:  # an HTTP date: rare from these APIs, so fall back to a short wait
        return 1.0


def error_message(response: httpx.Response) -> str:
    """The message of an OpenAI-compatible error response."""
    try:
        return message_of(response.json())
    except ValueError:
        return response.text[:500] or response.reason_phrase


def message_of(payload: Any) -> str:
    """The message of an OpenAI-style error body ({"error": {"message": ...}}), of FastAPI's
    ({"detail": ...}), else the body."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])
    if error is None and isinstance(payload, dict) and "detail" in payload:
        return str(payload["detail"])[:500]
    return str(error if error is not None else payload)[:500]
