"""The playground's chat: the whole conversation goes to the router, its max tokens is a cap no
policy raises (API and screen), the reply's summary and truncation notice, and its log row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any

import pytest

from twincore.apps.chat import (
    CHAT_SERVICE,
    conversation,
    route_request,
    stream_reply,
    summary_line,
    truncation_notice,
)
from twincore.apps.console_tables import decision_table
from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.types import Chunk, Usage
from twincore.platform.db.migrate import upgrade
from twincore.platform.gateway.schemas import ChatCompletionRequest
from twincore.platform.gateway.service_tracking import CANCELLED
from twincore.platform.requestlog import recent_requests
from twincore.platform.router.load import CoreState
from twincore.platform.router.router import Router
from twincore.platform.router.types import CoreEvent, Decision, RouteRequest

pytestmark = pytest.mark.anyio

QUICK_CHAT = "hi! how are you today?"


class ScriptedCore:
    """A core that answers `words` one chunk each (finishing on `finish`), or, with
    `endless`, keeps answering until closed; it keeps the requests it was sent."""

    def __init__(self, name: str, words: list[str], finish: str = "stop", endless: bool = False):
        self.name, self.words, self.finish, self.endless = name, words, finish, endless
        self.requests: list[CoreRequest] = []

    async def generate(self, request: CoreRequest) -> AsyncGenerator[CoreEvent, None]:
        self.requests.append(request)
        for index, word in enumerate(self.words):
            last = index == len(self.words) - 1 and not self.endless
            usage = Usage(7, len(self.words), 0) if last else None
            finish: Any = self.finish if last else None
            yield Chunk(request.request_id, 0, (index,), word, None, finish, usage)
        while self.endless:
            await asyncio.sleep(0.01)
            yield Chunk(request.request_id, 0, (0,), " more", None, None, None)

    async def health(self) -> dict[str, Any]:
        return {"ok": True}

    async def info(self) -> dict[str, Any]:
        return {"core": self.name}


class RaisingPolicy:
    """A policy that sizes every budget at 192 tokens, whatever the client asked (the seed
    policy's realtime budget, which turned the playground's 128 into 192)."""

    def choose(self, request: RouteRequest, cores: Mapping[str, CoreState]) -> Decision:
        return Decision(core="swift", reason="sized by policy", max_tokens=192, candidates=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def first_decision(router: Router, request: RouteRequest) -> Decision:
    events = router.stream(request)
    try:
        decision = await anext(events)
    finally:
        await events.aclose()
    assert isinstance(decision, Decision)
    return decision


def test_conversation_sends_every_turn_in_order() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
        {"role": "assistant", "content": "Paris."},
        {"role": "assistant", "content": [], "metadata": {"title": "note"}},  # nothing to send
    ]
    assert conversation(history, "And of Germany?") == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Germany?"},
    ]


async def test_the_slider_is_a_cap_the_policy_does_not_raise() -> None:
    core = ScriptedCore("swift", ["Fine."])
    router = Router({"swift": core}, RaisingPolicy())
    slider = route_request([], QUICK_CHAT, "auto", 128)
    unset = RouteRequest(slider.core_request)  # the same request, max_tokens not the client's
    assert (await first_decision(router, unset)).max_tokens == 192  # the policy's own budget
    assert (await first_decision(router, slider)).max_tokens == 128
    assert core.requests[-1].params.max_tokens == 128


async def test_an_api_clients_max_tokens_caps_any_policy() -> None:
    core = ScriptedCore("swift", ["Fine."])
    router = Router({"swift": core}, RaisingPolicy())
    body = ChatCompletionRequest.model_validate(
        {"model": "auto", "messages": [{"role": "user", "content": QUICK_CHAT}], "max_tokens": 50}
    )
    request = RouteRequest(
        CoreRequest(messages=body.chat_messages(), params=body.sampling(256)),
        client_set=body.client_budget(),
    )
    decision = await first_decision(router, request)
    assert decision.max_tokens == 50 and "client cap 50" in decision.reason
    assert core.requests[-1].params.max_tokens == 50
    unset = RouteRequest(request.core_request)  # no max_tokens from the client: policy sizes it
    assert (await first_decision(router, unset)).max_tokens == 192


async def test_a_reply_cut_at_the_limit_says_so_and_is_logged(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'log.db'}"
    upgrade(database_url)
    router = Router({"swift": ScriptedCore("swift", ["Once", " upon", " a"], finish="length")})
    request = route_request([], "Tell me a story.", "swift", 3)
    replies = [
        r async for r in stream_reply(router, request, database_url=database_url, screen="t")
    ]
    reply = replies[-1]
    assert reply.text == "Once upon a" and reply.truncated
    assert "3-token limit" in truncation_notice(reply)
    line = summary_line(reply)
    assert line.startswith("**swift** · explicit model 'swift'") and "7 in / 3 out" in line
    await asyncio.get_running_loop().shutdown_default_executor()  # the log write finishes
    [row] = recent_requests(database_url=database_url, routed_only=True)
    assert (row["service"], row["source"], row["core"], row["status"]) == (
        CHAT_SERVICE,
        "ui",
        "swift",
        200,
    )
    assert (row["prompt_tokens"], row["completion_tokens"]) == (7, 3)


async def test_a_stopped_reply_is_logged_as_cancelled_on_its_core(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'log.db'}"
    upgrade(database_url)
    core = ScriptedCore("deep", ["Let", " me"], endless=True)
    router = Router({"deep": core})
    replies = stream_reply(
        router, route_request([], "Go on.", "deep", 500), database_url=database_url, screen="t"
    )
    assert (await anext(replies)).text == "Let"
    await replies.aclose()  # what Stop does to the handler
    await asyncio.get_running_loop().shutdown_default_executor()
    [row] = recent_requests(database_url=database_url, routed_only=True)
    assert row["core"] == "deep" and row["status"] == 499 and row["error"] == CANCELLED
    shown = decision_table([row]).loc[0]
    assert shown["outcome"] == CANCELLED and shown["core"] == "deep"
    assert shown["caller"] == f"{CHAT_SERVICE} (ui)"
