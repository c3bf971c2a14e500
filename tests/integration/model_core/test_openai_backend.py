"""OpenAIBackend against a real local HTTP server speaking the OpenAI streaming protocol."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.openai import OpenAIBackend, RemoteCoreError
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk, Usage
from twincore.platform.settings import CoreConfig

PIECES = ("The answer", " is", " forty", "-two.")
ANSWER = "".join(PIECES)
KEY_ENV = "TEST_REMOTE_CORE_KEY"
MESSAGES = ({"role": "user", "content": "What is the answer?"},)


@dataclass
class ServerState:
    """What the fake remote received, and the failures it still has to serve."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    disconnects: int = 0


def _event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _make_app(state: ServerState) -> FastAPI:
    app = FastAPI()

    def failure() -> Response | None:
        if not state.failures:
            return None
        status = state.failures.pop(0)
        headers = {"Retry-After": "0"} if status == 429 else {}
        error = {"error": {"message": f"injected {status}", "type": "test"}}
        return JSONResponse(error, status_code=status, headers=headers)

    async def stream(body: dict[str, Any], *, chat: bool) -> AsyncIterator[str]:
        pieces = PIECES * 200 if body["model"] == "slow" else PIECES
        try:
            for piece in pieces:
                for index in range(body.get("n", 1)):
                    part = {"delta": {"content": piece}} if chat else {"text": piece}
                    yield _event({"choices": [{"index": index, **part, "finish_reason": None}]})
                await asyncio.sleep(0.01 if body["model"] == "slow" else 0)
            for index in range(body.get("n", 1)):
                end: dict[str, Any] = {"delta": {}} if chat else {"text": ""}
                yield _event({"choices": [{"index": index, **end, "finish_reason": "length"}]})
            usage = {
                "prompt_tokens": 11,
                "completion_tokens": len(pieces),
                "prompt_tokens_details": {"cached_tokens": 4},
            }
            yield _event({"choices": [], "usage": usage})
            yield "data: [DONE]\n\n"
        except asyncio.CancelledError:
            state.disconnects += 1
            raise

    async def complete(request: Request, *, chat: bool) -> Response:
        body = await request.json()
        state.bodies.append(body)
        state.authorizations.append(request.headers.get("authorization"))
        refused = failure()
        if refused is not None:
            return refused
        return StreamingResponse(stream(body, chat=chat), media_type="text/event-stream")

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await complete(request, chat=True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await complete(request, chat=False)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "remote-model", "object": "model"}]}

    @app.post("/control/fail")
    async def fail(status: int, count: int) -> dict[str, int]:
        state.failures = [status] * count
        return {"queued": count}

    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class FakeRemote:
    base_url: str
    state: ServerState

    def fail_next(self, status: int, count: int) -> None:
        root = self.base_url.removesuffix("/v1")
        httpx.post(
            f"{root}/control/fail", params={"status": status, "count": count}
        ).raise_for_status()


@pytest.fixture(scope="module")
def remote() -> Iterator[FakeRemote]:
    state = ServerState()
    port = _free_port()
    config = uvicorn.Config(_make_app(state), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake remote did not start"
        time.sleep(0.02)
    yield FakeRemote(f"http://127.0.0.1:{port}/v1", state)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def fresh(remote: FakeRemote) -> FakeRemote:
    remote.state.bodies.clear()
    remote.state.authorizations.clear()
    remote.state.failures.clear()
    return remote


def _backend(remote: FakeRemote, **options: Any) -> OpenAIBackend:
    options = {"model": "remote-model", "backoff_s": 0.01, **options}
    return OpenAIBackend("deep", base_url=remote.base_url, **options)


def _collect(backend: OpenAIBackend, request: CoreRequest) -> list[Chunk]:
    async def run() -> list[Chunk]:
        try:
            return [chunk async for chunk in backend.generate(request)]
        finally:
            await backend.aclose()

    return asyncio.run(run())


def test_streams_text_usage_and_finish_reason(fresh: FakeRemote) -> None:
    chunks = _collect(_backend(fresh), CoreRequest(messages=MESSAGES, request_id="r1"))
    assert "".join(c.text for c in chunks) == ANSWER
    assert len(chunks) >= len(PIECES)
    assert all(c.token_ids == () and c.index == 0 and c.request_id == "r1" for c in chunks)
    assert [c.finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].finish_reason == "length"
    assert chunks[-1].usage == Usage(11, len(PIECES), 4)
    assert fresh.state.bodies[-1]["messages"] == [dict(m) for m in MESSAGES]


def test_prompt_uses_completions_and_candidates_keep_their_index(fresh: FakeRemote) -> None:
    request = CoreRequest(prompt="Once upon", params=SamplingParams(n=2))
    chunks = _collect(_backend(fresh), request)
    for index in (0, 1):
        mine = [c for c in chunks if c.index == index]
        assert "".join(c.text for c in mine) == ANSWER
        assert mine[-1].finish_reason == "length"
    assert chunks[-1].usage is not None
    body = fresh.state.bodies[-1]
    assert body["prompt"] == "Once upon" and "messages" not in body


def test_body_carries_model_and_mapped_sampling_fields(fresh: FakeRemote) -> None:
    params = SamplingParams(
        max_tokens=7,
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        repetition_penalty=1.1,
        seed=3,
        stop=("END",),
        logprobs=True,
    )
    _collect(_backend(fresh), CoreRequest(messages=MESSAGES, params=params))
    body = fresh.state.bodies[-1]
    expected = {"model": "remote-model", "stream": True, "max_tokens": 7, "temperature": 0.5}
    expected |= {"top_p": 0.9, "top_k": 40, "repetition_penalty": 1.1, "seed": 3, "n": 1}
    expected |= {"stop": ["END"], "logprobs": True, "stream_options": {"include_usage": True}}
    assert {k: body[k] for k in expected} == expected

    _collect(_backend(fresh), CoreRequest(messages=MESSAGES))
    plain = fresh.state.bodies[-1]
    assert not {"top_k", "repetition_penalty", "seed", "stop", "logprobs"} & plain.keys()


def test_bearer_key_comes_from_the_named_variable(
    fresh: FakeRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test-123")
    _collect(_backend(fresh, api_key_env=KEY_ENV), CoreRequest(messages=MESSAGES))
    assert fresh.state.authorizations[-1] == "Bearer sk-test-123"

    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ValueError, match=KEY_ENV):
        _backend(fresh, api_key_env=KEY_ENV)


def test_from_config(fresh: FakeRemote, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-config")
    config = CoreConfig(
        backend="openai", model="remote-model", base_url=fresh.base_url, api_key_env=KEY_ENV
    )
    backend = OpenAIBackend.from_config("swift", config)
    assert backend.info() == {
        "core": "swift",
        "backend": "openai",
        "base_url": fresh.base_url,
        "model": "remote-model",
    }
    assert "sk-config" not in repr(backend.info())
    asyncio.run(backend.aclose())


def test_throttling_is_retried_until_success(fresh: FakeRemote) -> None:
    fresh.fail_next(429, 2)
    backend = _backend(fresh, backoff_s=5.0)  # Retry-After: 0 must win over the long backoff
    started = time.monotonic()
    chunks = _collect(backend, CoreRequest(messages=MESSAGES))
    assert "".join(c.text for c in chunks) == ANSWER
    assert backend.retries == 2 and len(fresh.state.bodies) == 3
    assert time.monotonic() - started < 3


def test_persistent_server_error_gives_up_after_max_retries(fresh: FakeRemote) -> None:
    fresh.fail_next(500, 10)
    backend = _backend(fresh, max_retries=2)
    with pytest.raises(RemoteCoreError, match="injected 500") as caught:
        _collect(backend, CoreRequest(messages=MESSAGES))
    assert caught.value.status == 500
    assert backend.retries == 2 and len(fresh.state.bodies) == 3


def test_client_error_fails_at_once(fresh: FakeRemote) -> None:
    fresh.fail_next(400, 1)
    backend = _backend(fresh)
    with pytest.raises(RemoteCoreError, match="injected 400") as caught:
        _collect(backend, CoreRequest(messages=MESSAGES))
    assert caught.value.status == 400
    assert backend.retries == 0 and len(fresh.state.bodies) == 1


def test_health_reports_ok_and_failure_without_raising(fresh: FakeRemote) -> None:
    health = _backend(fresh).health()
    assert health["ok"] is True
    closed = OpenAIBackend("deep", base_url=f"http://127.0.0.1:{_free_port()}/v1", model="m")
    down = closed.health()
    assert down["ok"] is False and "error" in down


def test_closing_the_stream_early_does_not_hang(fresh: FakeRemote) -> None:
    backend = _backend(fresh, model="slow")
    before = fresh.state.disconnects

    async def run() -> list[Chunk]:
        stream = backend.generate(CoreRequest(messages=MESSAGES))
        seen = [await anext(stream) for _ in range(3)]
        await asyncio.wait_for(stream.aclose(), timeout=2)  # type: ignore[attr-defined]
        await backend.aclose()
        return seen

    started = time.monotonic()
    seen = asyncio.run(run())
    assert [c.text for c in seen] == list(PIECES[:3])
    assert time.monotonic() - started < 3  # the full slow answer would take 8 s
    deadline = time.monotonic() + 3
    while fresh.state.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fresh.state.disconnects == before + 1  # the remote saw the cancel
