"""The official `openai` client against the in-process gateway: structured outputs and tool
calls, decoded under grammars by real cores (deep: SmolLM2-135M, swift: Qwen2.5-Coder-0.5B)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import openai
import pytest
from pydantic import BaseModel, ConfigDict, Field

from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.settings import Settings

pytestmark = pytest.mark.anyio

QWEN = "qwen2.5-coder-0.5b-instruct"
CORES = ["deep", "swift"]  # SmolLM2 and Qwen 0.5B, so both families are held to the schema


class City(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=40)
    country: str = Field(max_length=40)
    population_millions: float = Field(ge=0, le=100)
    landmarks: list[str] = Field(max_length=3)


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=60)
    stars: int = Field(ge=1, le=5)
    verdict: Literal["buy", "skip"]


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
MULTIPLY = {
    "type": "function",
    "function": {
        "name": "multiply",
        "description": "Multiply two integers",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "integer", "minimum": -9999, "maximum": 9999},
                "b": {"type": "integer", "minimum": -9999, "maximum": 9999},
            },
            "required": ["a", "b"],
        },
    },
}
TOOLS = [WEATHER, MULTIPLY]
TOOL_SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def response_format(model: type[BaseModel]) -> Any:
    schema = model.model_json_schema()
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": schema, "strict": True},
    }


@pytest.fixture(scope="module")
def cores(
    smol_cores: dict[str, CoreServer], session_data_dir: Path
) -> Iterator[dict[str, CoreServer]]:
    """deep: SmolLM2 (shared with the other tests); swift: Qwen2.5-Coder-0.5B."""
    qwen = NativeBackend(CoreProfile("swift", QWEN), data_dir=session_data_dir)
    yield {"deep": smol_cores["deep"], "swift": CoreServer.from_backend(qwen)}
    qwen.close()


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], cores: dict[str, CoreServer]
) -> AsyncIterator[openai.AsyncOpenAI]:
    settings = make_settings(gateway={"rate_limit_per_minute": 6000, "rate_limit_burst": 1000})
    app, state = build_embedded_app(settings, cores, components=())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway/v1", timeout=600
    ) as http:
        yield openai.AsyncOpenAI(
            base_url="http://gateway/v1", api_key="local", http_client=http, max_retries=0
        )
    state.log_writer.close()


def check_call(call: Any) -> dict[str, Any]:
    """A parsed tool call's arguments, after checking its shape and its schema."""
    assert call.type == "function" and call.id.startswith("call_")
    arguments = json.loads(call.function.arguments)
    schema = TOOL_SCHEMAS[call.function.name]
    assert set(schema["required"]) <= set(arguments) <= set(schema["properties"])
    for name, value in arguments.items():
        kind = schema["properties"][name]["type"]
        assert isinstance(value, int if kind == "integer" else str), (name, value)
        assert value in schema["properties"][name].get("enum", [value])
    return arguments


@pytest.mark.parametrize("core", CORES)
async def test_strict_json_schema_answers_validate(client: openai.AsyncOpenAI, core: str) -> None:
    answer = await client.chat.completions.create(
        model=core,
        messages=[{"role": "user", "content": "Describe Paris as JSON."}],
        response_format=response_format(City),
        max_tokens=160,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    city = City.model_validate_json(choice.message.content or "", strict=True)
    assert city.name
    parsed = await client.chat.completions.parse(
        model=core,
        messages=[{"role": "user", "content": "Review a pair of running shoes."}],
        response_format=Review,
        max_tokens=120,
    )
    review = parsed.choices[0].message.parsed
    assert isinstance(review, Review) and 1 <= review.stars <= 5


SUBJECTS = ["Tokyo", "Lagos", "Lima", "Oslo", "Cairo", "Hanoi", "Quito", "Perth", "Dakar", "Riga"]


@pytest.mark.parametrize("core", CORES)
async def test_twenty_sampled_objects_all_validate(client: openai.AsyncOpenAI, core: str) -> None:
    invalid = []
    for seed, subject in enumerate(SUBJECTS * 2):
        model = City if seed % 2 == 0 else Review
        prompt = (
            f"Describe {subject} as JSON." if model is City else f"Review a hotel in {subject}."
        )
        answer = await client.chat.completions.create(
            model=core,
            messages=[{"role": "user", "content": prompt}],
            response_format=response_format(model),
            max_tokens=200,
            temperature=0.9,
            seed=seed,
        )
        text = answer.choices[0].message.content or ""
        try:
            model.model_validate_json(text, strict=True)
        except ValueError as error:
            invalid.append((answer.choices[0].finish_reason, text, str(error)[:200]))
    assert invalid == [], f"{len(invalid)} of 20 objects do not validate: {invalid}"


@pytest.mark.parametrize("stream", [False, True])
async def test_two_tools_yield_tool_calls_the_client_parses(
    client: openai.AsyncOpenAI, stream: bool
) -> None:
    messages: Any = [{"role": "user", "content": "What is the weather like in Paris right now?"}]
    if not stream:
        answer = await client.chat.completions.create(
            model="deep",
            messages=messages,
            tools=TOOLS,
            tool_choice="required",
            max_tokens=256,
        )
        choice = answer.choices[0]
        assert choice.finish_reason == "tool_calls", choice.message.content
        assert choice.message.content is None
        calls = choice.message.tool_calls or []
    else:
        chunks = await client.chat.completions.create(
            model="deep",
            messages=messages,
            tools=TOOLS,
            tool_choice="required",
            max_tokens=256,
            stream=True,
        )
        gathered: dict[int, Any] = {}
        finish = None
        async for chunk in chunks:
            for choice_delta in chunk.choices:
                for part in choice_delta.delta.tool_calls or ():
                    gathered[part.index] = part
                finish = choice_delta.finish_reason or finish
        assert finish == "tool_calls"
        calls = [gathered[i] for i in sorted(gathered)]
    assert calls, "no tool call"
    for call in calls:  # SmolLM2 may pick either tool: each call must parse and validate
        check_call(call)


async def test_required_and_named_choices_hold(client: openai.AsyncOpenAI) -> None:
    answer = await client.chat.completions.create(
        model="deep",
        messages=[
            {"role": "user", "content": "Multiply 17 by 23, and tell me the weather in Rome."}
        ],
        tools=TOOLS,
        tool_choice="required",
        max_tokens=256,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    for call in choice.message.tool_calls or []:
        check_call(call)
    named = await client.chat.completions.create(
        model="deep",
        messages=[{"role": "user", "content": "Multiply 17 by 23."}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "multiply"}},
        max_tokens=64,
    )
    [call] = named.choices[0].message.tool_calls or []
    assert call.function.name == "multiply" and set(check_call(call)) == {"a", "b"}


@pytest.mark.parametrize("core", CORES)
async def test_tool_choice_none_yields_text(client: openai.AsyncOpenAI, core: str) -> None:
    answer = await client.chat.completions.create(
        model=core,
        messages=[{"role": "user", "content": "Say hello to Paris."}],
        tools=TOOLS,
        tool_choice="none",
        max_tokens=24,
    )
    choice = answer.choices[0]
    assert choice.message.tool_calls is None and choice.message.content
    assert (
        choice.finish_reason in ("stop", "length") and "<tool_call>" not in choice.message.content
    )


async def test_a_tool_result_turn_is_answered(client: openai.AsyncOpenAI) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "multiply", "arguments": '{"a": 17, "b": 23}'},
    }
    answer = await client.chat.completions.create(
        model="deep",
        messages=[
            {"role": "user", "content": "What is 17 times 23? Use the tool."},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "391"},
        ],
        tools=TOOLS,
        tool_choice="none",
        max_tokens=48,
    )
    assert "391" in (answer.choices[0].message.content or "")


async def test_schemas_that_do_not_compile_are_400s(client: openai.AsyncOpenAI) -> None:
    messages: Any = [{"role": "user", "content": "hi"}]
    bad_schema = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "objectx"}},
    }
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(
            model="deep", messages=messages, response_format=bad_schema
        )  # type: ignore[arg-type]
    assert refused.value.status_code == 400 and "objectx" in str(refused.value)
    bad_tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "objectx"}}}
    with pytest.raises(openai.BadRequestError) as tool_refused:
        await client.chat.completions.create(model="deep", messages=messages, tools=[bad_tool])  # type: ignore[list-item]
    assert "tool f" in str(tool_refused.value)
    with pytest.raises(openai.UnprocessableEntityError, match="not among the tools"):
        await client.chat.completions.create(
            model="deep",
            messages=messages,
            tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    with pytest.raises(openai.BadRequestError, match="unclosed group"):
        await client.chat.completions.create(
            model="deep",
            messages=messages,
            extra_body={"constraint": {"kind": "regex", "source": "a("}},
        )


async def test_the_constraint_extension_holds_any_client(client: openai.AsyncOpenAI) -> None:
    answer = await client.chat.completions.create(
        model="deep",
        messages=[{"role": "user", "content": "Give me an order number."}],
        extra_body={"constraint": {"kind": "regex", "source": r"ORD-\d{4}"}},
        max_tokens=16,
    )
    text = answer.choices[0].message.content or ""
    assert text.startswith("ORD-") and len(text) == 8 and text[4:].isdigit()
