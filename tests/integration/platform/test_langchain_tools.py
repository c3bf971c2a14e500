"""LangChain over Twincore: an agent loop over `bind_tools` that runs a Python tool and answers
with its result, and `with_structured_output` returning a Pydantic model (real SmolLM2 cores,
over the router in-process and over the gateway's HTTP API)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.embedded import serve_in_background as serve_http
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.platform.settings import Settings

TRANSPORTS = ["router", "http"]
Factory = Callable[..., TwincoreChatModel]
CALLS: list[tuple[int, int]] = []


@tool
def multiply(a: int, b: int) -> str:
    """Multiply two integers."""
    CALLS.append((a, b))
    return f"{a} * {b} = {a * b}"


class Capital(BaseModel):
    """A country's capital city."""

    country: str = Field(max_length=40)
    capital: str = Field(max_length=40)
    population_millions: float = Field(ge=0, le=100)


@pytest.fixture(scope="module")
def make(
    smol_cores: dict[str, CoreServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Factory]:
    """make(transport, **fields): a chat model over the router, or over a served gateway."""
    data_dir = tmp_path_factory.mktemp("gateway")
    with pytest.MonkeyPatch.context() as patch:  # module scope: before the autouse isolation
        for name in [n for n in os.environ if n.startswith("TWINCORE_")]:
            patch.delenv(name)
        patch.chdir(data_dir)
        settings = Settings(data_dir=data_dir)
    upgrade(settings.database_url)
    app, state = build_embedded_app(settings, smol_cores, components=())
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    with serve_http(app) as base_url:

        def build(transport: str, **fields: Any) -> TwincoreChatModel:
            fields.setdefault("model", "deep")
            if transport == "router":
                return TwincoreChatModel.over_router(router, **fields)
            return TwincoreChatModel.over_http(f"{base_url}/v1", **fields)

        yield build
    state.log_writer.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("stream", [False, True])
def test_an_agent_calls_a_python_tool_and_answers_with_its_result(
    make: Factory, transport: str, stream: bool
) -> None:
    chat = make(transport, max_tokens=96)
    CALLS.clear()
    messages: list[BaseMessage] = [HumanMessage("What is 17 times 23? Use the multiply tool.")]
    # The agent's turn: it must call the tool (SmolLM2 would rather guess the product).
    agent = chat.bind_tools([multiply], tool_choice="multiply")
    if stream:
        chunks = list(agent.stream(messages))
        reply: Any = chunks[0]
        for chunk in chunks[1:]:
            reply += chunk
        assert reply.response_metadata["finish_reason"] == "tool_calls"
    else:
        reply = agent.invoke(messages)
        assert (
            isinstance(reply, AIMessage)
            and reply.response_metadata["finish_reason"] == "tool_calls"
        )
    [call] = reply.tool_calls
    assert call["name"] == "multiply" and set(call["args"]) == {"a", "b"}
    assert call["id"] and call["id"].startswith("call_")
    result = multiply.invoke(call)
    assert isinstance(result, ToolMessage) and [(call["args"]["a"], call["args"]["b"])] == CALLS
    messages += [AIMessage("", tool_calls=reply.tool_calls), result]
    # The answer's turn: tools offered but not to be called, so it answers from the result.
    answer = chat.bind_tools([multiply], tool_choice="none").invoke(messages)
    assert not answer.tool_calls
    assert str(call["args"]["a"] * call["args"]["b"]) in str(answer.content), answer.content


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_structured_output_returns_the_pydantic_model(make: Factory, transport: str) -> None:
    chat = make(transport, max_tokens=96)
    capital = chat.with_structured_output(Capital).invoke("What is the capital of France?")
    assert isinstance(capital, Capital) and capital.capital
    raw = chat.with_structured_output(Capital, include_raw=True).invoke("Capital of Italy?")
    assert isinstance(raw["parsed"], Capital) and raw["parsing_error"] is None
    assert isinstance(raw["raw"], AIMessage) and raw["raw"].content
    by_tool = chat.with_structured_output(Capital, method="function_calling").invoke(
        "Capital of Spain?"
    )
    assert isinstance(by_tool, Capital)
    as_dict = chat.with_structured_output(Capital.model_json_schema()).invoke("Capital of Peru?")
    assert isinstance(as_dict, dict) and Capital.model_validate(as_dict)
