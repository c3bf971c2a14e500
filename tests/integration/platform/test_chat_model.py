"""TwincoreChatModel over a real router and a real gateway, both on two SmolLM2 cores
(the `smol_cores` fixture: SmolLM2 twice, since these tests check routing, not quality)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, FunctionMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import TwincoreError
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.embedded import serve_in_background as serve_http
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.platform.settings import Settings

QUESTION = "What is the capital of France?"
EXPECTED_CORE = {"auto": "swift", "deep": "deep", "swift": "swift"}
TRANSPORTS = ["router", "http"]

Factory = Callable[..., TwincoreChatModel]


@pytest.fixture(scope="module")
def gateway_url(
    smol_cores: dict[str, CoreServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The embedded gateway over both cores, served by uvicorn on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("gateway")
    with pytest.MonkeyPatch.context() as patch:  # module scope: before the autouse isolation
        for name in [n for n in os.environ if n.startswith("TWINCORE_")]:
            patch.delenv(name)
        patch.chdir(data_dir)
        settings = Settings(data_dir=data_dir)
    upgrade(settings.database_url)
    app, state = build_embedded_app(settings, smol_cores, components=())
    with serve_http(app) as base_url:
        yield f"{base_url}/v1"
    state.log_writer.close()


@pytest.fixture(scope="module")
def make(smol_cores: dict[str, CoreServer], gateway_url: str) -> Factory:
    """make(transport, **fields): a chat model over the router or over the gateway."""
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))

    def build(transport: str, **fields: Any) -> TwincoreChatModel:
        fields.setdefault("max_tokens", 8)
        if transport == "router":
            return TwincoreChatModel.over_router(router, **fields)
        return TwincoreChatModel.over_http(gateway_url, **fields)

    return build


def _check_reply(reply: AIMessage, core: str) -> None:
    assert isinstance(reply.content, str) and reply.content
    metadata = reply.response_metadata
    assert metadata["core"] == core and metadata["decision"]["core"] == core
    assert metadata["finish_reason"] in ("stop", "length")
    usage = reply.usage_metadata
    assert usage is not None and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", ["auto", "deep", "swift"])
def test_invoke_reports_the_core_that_served(make: Factory, transport: str, model: str) -> None:
    reply = make(transport, model=model).invoke(QUESTION)
    assert isinstance(reply, AIMessage)
    _check_reply(reply, EXPECTED_CORE[model])
    decision = reply.response_metadata["decision"]
    if model == "auto":  # the two-stage policy: labels from the classifier, a rule's reason
        assert decision["labels"]["domain"] == "chat" and decision["reason"].startswith("rule")
    else:
        assert decision["reason"] == f"explicit model {model!r}"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", ["auto", "deep"])
def test_stream_ends_with_the_decision(make: Factory, transport: str, model: str) -> None:
    chat = make(transport, model=model)
    chunks = list(chat.stream(QUESTION))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert len([c for c in chunks if c.content]) > 1
    last = chunks[-1]
    assert last.chunk_position == "last" and last.response_metadata["core"] == EXPECTED_CORE[model]
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    _check_reply(whole, EXPECTED_CORE[model])
    assert whole.content == chat.invoke(QUESTION).content


@pytest.mark.parametrize("model", ["deep", "swift"])
def test_greedy_answers_match_between_transports(make: Factory, model: str) -> None:
    prompt = [HumanMessage("Name three colours of the rainbow.")]
    answers = {t: make(t, model=model, max_tokens=16).invoke(prompt).content for t in TRANSPORTS}
    streamed = {
        t: "".join(str(c.content) for c in make(t, model=model, max_tokens=16).stream(prompt))
        for t in TRANSPORTS
    }
    assert answers["router"] == answers["http"] == streamed["router"] == streamed["http"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_async_invoke_and_stream(make: Factory, transport: str) -> None:
    chat = make(transport, model="swift")

    async def run() -> tuple[AIMessage, list[AIMessageChunk]]:
        reply = await chat.ainvoke(QUESTION)
        chunks = [chunk async for chunk in chat.astream(QUESTION)]
        return reply, chunks

    reply, chunks = asyncio.run(run())
    _check_reply(reply, "swift")
    assert "".join(str(c.content) for c in chunks) == reply.content
    assert chunks[-1].response_metadata["decision"]["core"] == "swift"
    assert chunks[-1].usage_metadata == reply.usage_metadata


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sync_calls_work_inside_a_running_event_loop(make: Factory, transport: str) -> None:
    chat = make(transport, model="deep")

    async def call_sync_code() -> tuple[AIMessage, str]:
        asyncio.get_running_loop()  # this coroutine runs on a loop, yet calls the sync API
        reply = chat.invoke(QUESTION)
        streamed = "".join(str(c.content) for c in chat.stream(QUESTION))
        return reply, streamed

    reply, streamed = asyncio.run(call_sync_code())
    _check_reply(reply, "deep")
    assert streamed == reply.content


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_in_an_lcel_chain(make: Factory, transport: str) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a concise geography tutor."), ("human", "{question}")]
    )
    chat = make(transport, model="auto")
    chain = prompt | chat | StrOutputParser()
    answer = chain.invoke({"question": QUESTION})
    assert isinstance(answer, str) and answer
    assert answer == chat.invoke(prompt.invoke({"question": QUESTION})).content
    assert "".join(chain.stream({"question": QUESTION})) == answer
    assert chain.batch([{"question": QUESTION}] * 2) == [answer, answer]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stop_given_to_a_call_replaces_the_field(make: Factory, transport: str) -> None:
    full = str(make(transport, max_tokens=16).invoke(QUESTION).content)
    cut_at = full.strip().split()[2]  # a word from the middle of the greedy answer
    expected = full[: full.index(cut_at)]
    with_field = make(transport, max_tokens=16, stop=[cut_at])
    assert with_field.invoke(QUESTION).content == expected
    never_seen = make(transport, max_tokens=16, stop=["@@@"])
    assert never_seen.invoke(QUESTION).content == full
    assert never_seen.invoke(QUESTION, stop=[cut_at]).content == expected


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_per_call_overrides(make: Factory, transport: str) -> None:
    chat = make(transport, model="auto")
    reply = chat.bind(model="deep", max_tokens=2).invoke(QUESTION)
    assert isinstance(reply, AIMessage)
    assert reply.response_metadata["core"] == "deep"
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] <= 2
    with pytest.raises(TypeError, match="unexpected arguments"):
        chat.invoke(QUESTION, logit_bias={})


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_model_is_a_404(make: Factory, transport: str) -> None:
    chat = make(transport, model="gpt-9")
    with pytest.raises(TwincoreError) as invoked:
        chat.invoke(QUESTION)
    assert invoked.value.status == 404 and "unknown model 'gpt-9'" in invoked.value.message
    assert not invoked.value.retryable
    with pytest.raises(TwincoreError) as streamed:
        list(chat.stream(QUESTION))
    assert streamed.value.status == 404


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_out_of_range_parameters_are_refused(make: Factory, transport: str) -> None:
    chat = make(transport)
    with pytest.raises(TwincoreError) as refused:
        chat.invoke(QUESTION, top_p=0.0)
    assert refused.value.status in (400, 422) and "top_p" in refused.value.message


def test_messages_other_than_chat_and_tool_turns_are_refused(make: Factory) -> None:
    chat = make("router")
    with pytest.raises(ValueError, match="FunctionMessage"):
        chat.invoke([HumanMessage("hi"), FunctionMessage("42", name="f")])


def test_an_unreachable_gateway_is_a_503(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    chat = TwincoreChatModel.over_http(f"http://127.0.0.1:{port}/v1", timeout_s=5)
    with pytest.raises(TwincoreError) as failed:
        chat.invoke(QUESTION)
    assert failed.value.status == 503 and failed.value.retryable


def test_the_transport_stays_out_of_serialization(make: Factory) -> None:
    chat = make("http", model="deep", api_key="tc_secret")
    assert "transport" not in chat.model_dump()
    assert "tc_secret" not in repr(chat)
    assert chat._identifying_params["target"].endswith("/v1")
