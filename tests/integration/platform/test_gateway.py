"""The gateway in-process over real SmolLM2 cores: OpenAI shapes, decisions, errors, the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import select

from twincore.model_core.engine.repetition import RepetitionGuard
from twincore.platform.auth import create_api_key
from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.components import ServiceComponent
from twincore.platform.cores import CoreServer
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.embedded import build_embedded_app
from twincore.platform.gateway.deps import GatewayState
from twincore.platform.gateway.schemas import ChatCompletionRequest
from twincore.platform.requestlog import RequestLogEntry
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings, secret_key_bytes

from .conftest import dead_core

pytestmark = pytest.mark.anyio

CHAT = {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 6}


def client_for(
    settings: Settings, cores: dict[str, CoreServer], host: str = "127.0.0.1"
) -> tuple[httpx.AsyncClient, GatewayState]:
    app, state = build_embedded_app(settings, cores, components=())
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway"), state


def log_rows(settings: Settings, state: GatewayState) -> list[RequestLogEntry]:
    assert state.log_writer.flush()
    sessions = session_factory(create_db_engine(settings.database_url))
    with session_scope(sessions) as session:
        return list(session.scalars(select(RequestLogEntry).order_by(RequestLogEntry.id)))


def new_key(settings: Settings, name: str = "tests") -> str:
    sessions = session_factory(create_db_engine(settings.database_url))
    with session_scope(sessions) as session:
        _, token = create_api_key(session, name=name, secret_key=secret_key_bytes(settings))
    return token


def sse_events(body: str) -> list[Any]:
    events = [line.removeprefix("data: ") for line in body.splitlines() if line.startswith("data:")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


ROUTES = [("auto", "swift"), ("deep", "deep"), ("swift", "swift")]


@pytest.mark.parametrize(("model", "core"), ROUTES)
async def test_chat_answers_say_which_core_and_why(
    model: str, core: str, make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings()
    client, state = client_for(settings, smol_cores)
    async with client:
        response = await client.post("/v1/chat/completions", json={**CHAT, "model": model})
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["x-twincore-core"] == core
    assert body["object"] == "chat.completion" and body["model"] == core
    assert body["twincore"]["core"] == core and body["twincore"]["fallback_from"] is None
    assert model in body["twincore"]["reason"] or model == "auto"
    assert body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] == 6
    [row] = log_rows(settings, state)
    assert row.request_id == response.headers["x-request-id"]
    assert (row.status_code, row.core, row.model) == (200, core, model)
    assert row.completion_tokens == 6 and row.decision and row.decision["core"] == core


async def test_stream_ends_with_the_decision_and_usage(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    request = {**CHAT, "model": "deep", "stream": True, "stream_options": {"include_usage": True}}
    async with client:
        response = await client.post("/v1/chat/completions", json=request)
        plain = await client.post("/v1/chat/completions", json={**CHAT, "model": "deep"})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(e["choices"][0]["delta"]["content"] for e in events if e["choices"])
    assert text == plain.json()["choices"][0]["message"]["content"]  # greedy: same answer
    final = events[-1]
    assert final["choices"] == [] and final["twincore"]["core"] == "deep"
    assert final["usage"]["completion_tokens"] == 6


async def test_a_given_request_id_is_kept(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings()
    client, state = client_for(settings, smol_cores)
    async with client:
        await client.get("/v1/models", headers={"x-request-id": "trace-42"})
        await client.get("/v1/models", headers={"x-request-id": "bad id with spaces"})
    rows = log_rows(settings, state)
    assert rows[0].request_id == "trace-42"
    assert rows[1].request_id.startswith("req-")


async def test_text_completions_and_models(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    async with client:
        completion = await client.post(
            "/v1/completions", json={"prompt": "The capital of France is", "max_tokens": 4}
        )
        models = await client.get("/v1/models")
    assert completion.status_code == 200
    assert completion.json()["object"] == "text_completion"
    assert completion.json()["choices"][0]["text"]
    ids = [m["id"] for m in models.json()["data"]]
    assert ids == ["auto", "deep", "swift"]
    assert models.json()["data"][1]["twincore"]["backend"] == "native"


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (b"{not json", ""),
        (json.dumps({"messages": []}).encode(), "messages"),
        (json.dumps({"messages": [{"role": "user"}]}).encode(), "messages.0.content"),
        (json.dumps({**CHAT, "temperature": 7}).encode(), "temperature"),
        (json.dumps({**CHAT, "tools": [{"type": "function"}]}).encode(), ""),
    ],
)
async def test_malformed_bodies_get_422_naming_the_field(
    content: bytes,
    param: str,
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
) -> None:
    settings = make_settings()
    client, state = client_for(settings, smol_cores)
    async with client:
        response = await client.post(
            "/v1/chat/completions", content=content, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if param:
        assert error["param"] == param and param.split(".")[0] in error["message"]
    [row] = log_rows(settings, state)
    assert row.status_code == 422 and row.core is None


async def test_prompt_over_the_context_gets_400_naming_the_limit(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    async with client:
        response = await client.post(
            "/v1/completions", json={"prompt": "word " * 9000, "max_tokens": 8}
        )
    assert response.status_code == 400
    assert "context of 8192 tokens" in response.json()["error"]["message"]


async def test_unknown_model_is_404(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    async with client:
        response = await client.post("/v1/chat/completions", json={**CHAT, "model": "gpt-9"})
    assert response.status_code == 404
    assert "auto, deep, swift" in response.json()["error"]["message"]


async def test_keys_are_required_when_configured(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings(auth={"require_api_key": True})
    token = new_key(settings, "ci")
    client, state = client_for(settings, smol_cores)
    async with client:
        missing = await client.get("/v1/models")
        unknown = await client.get("/v1/models", headers={"Authorization": "Bearer tc_zz_nope"})
        known = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 401 and "missing API key" in missing.json()["error"]["message"]
    assert unknown.status_code == 401 and "unknown or revoked" in unknown.json()["error"]["message"]
    assert known.status_code == 200 and known.json()["name"] == "ci"
    rows = log_rows(settings, state)
    assert [r.status_code for r in rows] == [401, 401, 200]
    assert rows[2].api_key_id == known.json()["key_id"] and rows[0].api_key_id is None


async def test_dev_mode_serves_loopback_with_any_token_and_never_remote_clients(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings()  # dev mode: no key required on loopback
    local, _ = client_for(settings, smol_cores)
    remote, _ = client_for(settings, smol_cores, host="203.0.113.7")
    async with local, remote:
        any_token = await local.get("/v1/whoami", headers={"Authorization": "Bearer sk-anything"})
        no_token = await local.get("/v1/whoami")
        outside = await remote.get("/v1/whoami", headers={"Authorization": "Bearer sk-anything"})
        keyed = await remote.get(
            "/v1/whoami", headers={"Authorization": f"Bearer {new_key(settings)}"}
        )
    assert any_token.status_code == 200 and any_token.json()["name"] == "dev-loopback"
    assert no_token.status_code == 200
    assert outside.status_code == 401
    assert keyed.status_code == 200


async def test_rate_limit_answers_429_with_retry_after(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings(gateway={"rate_limit_per_minute": 1, "rate_limit_burst": 2})
    client, state = client_for(settings, smol_cores)
    async with client:
        statuses = [(await client.get("/v1/whoami")).status_code for _ in range(2)]
        limited = await client.get("/v1/whoami")
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["type"] == "rate_limit_exceeded"
    assert [r.status_code for r in log_rows(settings, state)] == [200, 200, 429]


async def test_a_failing_core_falls_back_and_the_decision_says_so(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings()
    cores = {"deep": dead_core("deep"), "swift": smol_cores["swift"]}
    client, state = client_for(settings, cores)
    async with client:
        response = await client.post("/v1/chat/completions", json={**CHAT, "model": "deep"})
        again = await client.post("/v1/chat/completions", json={**CHAT, "model": "deep"})
        ready = await client.get("/readyz")
    assert response.status_code == 200
    decision = response.json()["twincore"]
    assert decision["core"] == "swift" and decision["fallback_from"] == "deep"
    assert "cannot reach" in decision["fallback_error"]
    assert response.headers["x-twincore-core"] == "swift"
    assert again.json()["twincore"]["fallback_from"] == "deep"  # cooling: swift first
    assert ready.status_code == 200 and ready.json()["cores"]["deep"]["ok"] is False
    rows = log_rows(settings, state)
    assert [(r.core, r.fallback) for r in rows] == [("swift", True), ("swift", True)]


async def test_both_cores_failing_is_503(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    client, state = client_for(settings, {"deep": dead_core("deep"), "swift": dead_core("swift")})
    async with client:
        response = await client.post("/v1/chat/completions", json=CHAT)
        ready = await client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "service_unavailable"
    assert "swift:" in error["message"] and "deep:" in error["message"]
    assert ready.status_code == 503
    [row] = log_rows(settings, state)
    assert row.status_code == 503 and row.decision and row.decision["fallback_from"] == "swift"


async def test_metrics_count_requests_tokens_and_decisions(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    async with client:
        await client.post("/v1/chat/completions", json={**CHAT, "model": "deep"})
        await client.post("/v1/chat/completions", content=b"{", headers={"content-type": "x"})
        text = (await client.get("/metrics")).text
    requests = 'twincore_requests_total{core="deep",endpoint="chat/completions",status="200"}'
    assert f"{requests} 1.0" in text
    assert 'status="422"' in text
    assert 'twincore_tokens_total{core="deep",kind="completion"} 6.0' in text
    decisions = 'twincore_routing_decisions_total{core="deep",fallback="false",requested="deep"}'
    assert f"{decisions} 1.0" in text
    assert 'twincore_request_latency_seconds_bucket{core="deep"' in text


class AskService:
    """A minimal service as a domain service is built: a plain class over the router."""

    def __init__(self, router: RouterClient, _settings: Settings) -> None:
        self.llm = TwincoreChatModel.over_router(router, max_tokens=4)

    async def ask(self, question: str) -> dict[str, Any]:
        answer = await self.llm.ainvoke(question)
        return {"answer": answer.content, "core": answer.response_metadata["core"]}

    def double(self, value: int) -> int:  # blocking methods run on a worker thread
        return value * 2


def ask_api(service: Any) -> APIRouter:
    routes = APIRouter()

    @routes.post("/ask")
    async def ask(body: dict[str, str]) -> dict[str, Any]:
        return await service.ask(body["question"])  # type: ignore[no-any-return]

    @routes.get("/double/{value}")
    async def double(value: int) -> int:
        return await service.double(value)  # type: ignore[no-any-return]

    return routes


async def test_services_mount_under_v1_behind_auth(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    settings = make_settings(auth={"require_api_key": True})
    component = ServiceComponent(name="ask", factory=AskService, api=ask_api)
    app, state = build_embedded_app(settings, smol_cores, components=[component])
    token = new_key(settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        refused = await client.post("/v1/ask/ask", json={"question": "Hi"})
        headers = {"Authorization": f"Bearer {token}"}
        answered = await client.post("/v1/ask/ask", json={"question": "Hi"}, headers=headers)
        doubled = await client.get("/v1/ask/double/21", headers=headers)
    assert refused.status_code == 401
    assert answered.status_code == 200 and answered.json()["core"] == "swift"
    assert answered.json()["answer"]
    assert doubled.json() == 42
    paths = [r.path for r in log_rows(settings, state)]
    assert paths == ["/v1/ask/ask"] * 2 + ["/v1/ask/double/21"]


@pytest.mark.parametrize(
    "setting",
    [{"repetition_guard": "yes"}, {"repetition_guard": {"patience": -1}},
     {"repetition_guard": {"min_loop_tokens": 9, "max_loop_tokens": 8}},
     {"repetition_guard": {"max_repeats": 2}}],
)  # fmt: skip
async def test_a_malformed_repetition_guard_gets_422_naming_it(
    setting: dict[str, Any],
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    async with client:
        response = await client.post("/v1/chat/completions", json={**CHAT, **setting})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["param"].startswith("repetition_guard") and "repetition_guard" in error["message"]
    assert "function-after" not in error["message"]  # no pydantic internals
    if setting["repetition_guard"] == "yes":
        assert error["message"].endswith("true, false or an object of guard settings")


async def test_the_repetition_guard_is_taken_per_request(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    client, _ = client_for(make_settings(), smol_cores)
    async with client:
        for setting in (True, False, {"patience": 0, "max_line_repeats": 1}):
            body = {**CHAT, "model": "swift", "repetition_guard": setting}
            response = await client.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
    sampling = [
        ChatCompletionRequest.model_validate({**CHAT, **extra}).sampling(64).repetition_guard
        for extra in ({}, {"repetition_guard": True}, {"repetition_guard": {"patience": 0}})
    ]
    assert sampling == [None, RepetitionGuard(), RepetitionGuard(patience=0)]
