"""Tools and structured outputs without a model: rendering, the tool grammar (run through
llguidance over a byte tokenizer), parsing answers whole and streamed, the OpenAI shapes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import llguidance
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.openai import OpenAIBackend
from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk
from twincore.platform.chat_model import to_chat_messages
from twincore.platform.chat_transport import ChatEnd, TextDelta, ToolCallDone, _parse_stream
from twincore.platform.gateway.responses import Collected, ResponseBuilder
from twincore.platform.gateway.schemas import ChatCompletionRequest
from twincore.platform.router.types import Decision
from twincore.platform.structured import (
    Tool,
    ToolCallStream,
    ToolChoice,
    constraint_problem,
    prepare_chat,
    render_turns,
    split_tool_calls,
)
from twincore.platform.structured.grammar import MAX_PARALLEL_CALLS, tool_grammar
from twincore.platform.structured.langchain import openai_tool_choice

WEATHER = Tool(
    "get_weather",
    "Current weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = Tool(
    "add",
    "Add two integers",
    {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/Int"}, "b": {"$ref": "#/$defs/Int"}},
        "required": ["a", "b"],
        "$defs": {"Int": {"type": "integer"}},
    },
)
PARIS = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
SUM = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'


class _Bytes:
    """A tokenizer whose tokens are the 256 bytes and an end token: the grammar sees text
    exactly as written."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"</s>"]
    special_token_ids = (256,)

    def __call__(self, text: bytes) -> list[int]:
        return list(text)


BYTES = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_Bytes()))


def accepts(constraint: Constraint, text: str) -> bool:
    """Whether the whole of `text` is in the constraint's language."""
    kind = "json_schema" if constraint.kind == "json_object" else constraint.kind
    source = '{"type": "object"}' if constraint.kind == "json_object" else constraint.source
    matcher = llguidance.LLMatcher(BYTES, llguidance.grammar_from(kind, source), log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    matcher.consume_tokens(list(text.encode()))
    return not matcher.is_error() and matcher.is_accepting()


def grammar(**options: Any) -> Constraint:
    return Constraint("lark", tool_grammar([WEATHER, ADD], **options))


def test_required_calls_hold_names_and_argument_schemas() -> None:
    required = grammar(required=True, parallel=True)
    assert accepts(required, PARIS)
    assert accepts(required, SUM)  # its $refs were moved with its schema
    assert accepts(required, PARIS + "\n" + SUM)
    assert not accepts(required, "It is sunny.")
    assert not accepts(required, PARIS.replace("get_weather", "get_time"))
    assert not accepts(required, SUM.replace("2", '"two"'))
    assert not accepts(required, PARIS.replace('"city"', '"town"'))
    assert not accepts(required, PARIS.replace('"Paris"', '"Paris", "days": 2'))  # undeclared
    assert not accepts(grammar(required=True, parallel=False), PARIS + "\n" + SUM)
    assert accepts(required, "\n".join([PARIS] * MAX_PARALLEL_CALLS))
    assert not accepts(required, "\n".join([PARIS] * (MAX_PARALLEL_CALLS + 1)))


def test_auto_takes_text_or_calls_but_not_a_malformed_call() -> None:
    auto = grammar(required=False, parallel=True)
    assert accepts(auto, "It is sunny in Paris, 2 < 3.")
    assert accepts(auto, PARIS)
    assert not accepts(auto, "Let me look. <tool_call>\n{}\n</tool_call>")
    assert not accepts(auto, PARIS.replace('"Paris"', "7"))
    as_json = Constraint.json_schema({"type": "object", "properties": {"t": {"type": "number"}}})
    with_answer = Constraint(
        "lark", tool_grammar([WEATHER], required=False, parallel=False, answer=as_json)
    )
    assert accepts(with_answer, '{"t": 21.5}') and accepts(with_answer, PARIS)
    assert not accepts(with_answer, "It is 21 degrees.")


def test_tool_choice_shapes_the_request() -> None:
    turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
    none = prepare_chat(turns, tools=[WEATHER], tool_choice=ToolChoice("none"))
    assert none.constraint is None and not none.tool_calls
    assert none.messages == turns  # tools are not shown
    named = prepare_chat(turns, tools=[WEATHER, ADD], tool_choice=ToolChoice("function", "add"))
    assert named.tool_calls and named.constraint is not None
    assert accepts(named.constraint, SUM) and not accepts(named.constraint, PARIS)
    assert not accepts(named.constraint, SUM + "\n" + SUM)  # a named choice is one call
    system = named.messages[0]["content"]
    assert system.startswith("Be brief.\n\n# Tools") and '"name": "get_weather"' in system
    assert named.messages[1:] == turns[1:]
    with pytest.raises(ValueError, match="not among the tools"):
        prepare_chat(turns, tools=[WEATHER], tool_choice=ToolChoice("function", "add"))
    with pytest.raises(ValueError, match="needs tools"):
        prepare_chat(turns, tool_choice=ToolChoice("required"))
    with pytest.raises(ValueError, match="regex constraint cannot be combined"):
        prepare_chat(turns, tools=[WEATHER], answer=Constraint("regex", r"\d+"))
    with pytest.raises(ValueError, match="unique"):
        prepare_chat(turns, tools=[WEATHER, WEATHER])


def test_agent_turns_render_as_text_any_template_takes() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
    }
    turns = render_turns(
        [
            {"role": "developer", "content": "Use tools."},
            {"role": "user", "content": [{"type": "text", "text": "2+3 and 4+4?"}]},
            {"role": "assistant", "content": None, "tool_calls": [call, call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "5"},
            {"role": "tool", "tool_call_id": "call_1", "content": "8"},
        ],
        tools=[ADD],
    )
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert "<tools>\n" + json.dumps(ADD.openai()) + "\n</tools>" in turns[0]["content"]
    assert turns[1]["content"] == "2+3 and 4+4?"
    assert turns[2]["content"] == SUM + "\n" + SUM
    assert turns[3]["content"] == (
        "<tool_response>\n5\n</tool_response>\n<tool_response>\n8\n</tool_response>"
    )
    added = render_turns([{"role": "user", "content": "hi"}], tools=[ADD])
    assert added[0]["role"] == "system" and "# Tools" in added[0]["content"]


def test_answers_split_into_text_and_calls() -> None:
    content, calls = split_tool_calls(PARIS + "\n" + SUM)
    assert content is None
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("add", {"a": 2, "b": 3}),
    ]
    assert calls[0].id.startswith("call_") and calls[0].id != calls[1].id
    assert split_tool_calls("Checking.\n" + PARIS)[0] == "Checking."
    broken = "<tool_call>\n{not json}\n</tool_call>"
    assert split_tool_calls(broken) == (broken, [])
    assert split_tool_calls("plain") == ("plain", [])


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_a_stream_gives_the_same_calls_whatever_its_chunks(step: int) -> None:
    answer = "Checking <b>.\n" + PARIS + "\n" + SUM + "\n<tool_ca"
    stream = ToolCallStream()
    pieces: list[Any] = []
    for start in range(0, len(answer), step):
        pieces += stream.feed(answer[start : start + step])
    pieces += stream.close()
    calls = [p for p in pieces if not isinstance(p, str)]
    text = "".join(p for p in pieces if isinstance(p, str))
    assert [c.name for c in calls] == ["get_weather", "add"]
    assert text == "Checking <b>.<tool_ca"  # whitespace by calls goes; an unclosed block stays
    assert stream.calls == 2


def test_a_partial_call_is_held_until_it_closes() -> None:
    stream = ToolCallStream()
    assert stream.feed("<tool") == []
    assert stream.feed('_call>\n{"name": "add", "arguments": {}}') == []
    [call] = stream.feed("\n</tool_call>")
    assert not isinstance(call, str) and call.name == "add" and call.arguments == "{}"


def test_constraint_problems_are_llguidance_messages() -> None:
    assert constraint_problem(None) is None
    assert constraint_problem(Constraint.json_schema({"type": "object"})) is None
    assert "objectx" in str(constraint_problem(Constraint.json_schema({"type": "objectx"})))
    assert "unclosed group" in str(constraint_problem(Constraint("regex", "a(")))
    assert constraint_problem(Constraint("regex", "")) == "a regex constraint needs a source"


DECISION = Decision(core="swift", reason="test", max_tokens=64, candidates=1)


def _chunk(text: str, finish: str | None = None) -> Chunk:
    return Chunk("r", 0, (), text, finish_reason=finish)  # type: ignore[arg-type]


def test_complete_bodies_carry_tool_calls() -> None:
    collected = Collected()
    collected.add(_chunk(PARIS + "\n" + SUM, "stop"))
    body = ResponseBuilder("chat", "r", DECISION, tool_calls=True).complete(collected)
    [choice] = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "add"]
    assert json.loads(calls[1]["function"]["arguments"]) == {"a": 2, "b": 3}
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in calls)
    text = Collected()
    text.add(_chunk("Sunny.", "stop"))
    plain = ResponseBuilder("chat", "r", DECISION, tool_calls=True).complete(text)
    assert plain["choices"][0]["message"] == {"role": "assistant", "content": "Sunny."}
    assert plain["choices"][0]["finish_reason"] == "stop"


def test_stream_events_carry_each_call_whole_with_its_index() -> None:
    builder = ResponseBuilder("chat", "r", DECISION, tool_calls=True)
    answer = PARIS + "\n" + SUM
    sse = [
        builder.stream_event(_chunk(answer[:30])),
        builder.stream_event(_chunk(answer[30:], "stop")),
    ]
    assert sse[0] == ""  # the first call is still open
    events = [json.loads(line[6:]) for line in sse[1].split("\n\n") if line]
    deltas = [e["choices"][0]["delta"] for e in events]
    assert deltas[0]["role"] == "assistant"
    assert [d["tool_calls"][0]["index"] for d in deltas[:2]] == [0, 1]
    assert [d["tool_calls"][0]["function"]["name"] for d in deltas[:2]] == ["get_weather", "add"]
    assert [e["choices"][0]["finish_reason"] for e in events] == [None, None, "tool_calls"]


def _request(**extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}], **extra}


def test_request_bodies_become_prompts_and_constraints() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    spec = {"name": "count", "schema": schema, "strict": True}
    body = ChatCompletionRequest.model_validate(
        _request(response_format={"type": "json_schema", "json_schema": spec})
    )
    assert body.sampling(16).constraint == Constraint.json_schema(schema)
    assert not body.prepared.tool_calls
    mode = ChatCompletionRequest.model_validate(_request(response_format={"type": "json_object"}))
    assert mode.sampling(16).constraint == Constraint("json_object")
    extension = ChatCompletionRequest.model_validate(
        _request(constraint={"kind": "regex", "source": r"\d{3}"})
    )
    assert extension.sampling(16).constraint == Constraint("regex", r"\d{3}")
    tools = [{"type": "function", "function": {"name": "add", "parameters": dict(ADD.parameters)}}]
    named = {"type": "function", "function": {"name": "add"}}
    with_tools = ChatCompletionRequest.model_validate(_request(tools=tools, tool_choice=named))
    constraint = with_tools.sampling(16).constraint
    assert constraint is not None and accepts(constraint, SUM)
    assert with_tools.prepared.tool_calls and "# Tools" in with_tools.chat_messages()[0]["content"]


@pytest.mark.parametrize(
    "extra",
    [
        {"response_format": {"type": "xml"}},
        {"tools": [{"type": "function", "function": {"name": "has space"}}]},
        {
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": {"type": "function", "function": {"name": "g"}},
        },
        {"tool_choice": "required"},
        {"constraint": {"kind": "regex"}},
        {"constraint": {"kind": "json_object"}, "response_format": {"type": "json_object"}},
        {"messages": [{"role": "user", "content": None}]},
    ],
)
def test_bad_structured_requests_are_refused(extra: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate(_request(**extra))


def test_langchain_messages_keep_calls_and_results() -> None:
    call = {"name": "add", "args": {"a": 2, "b": 3}, "id": "call_9", "type": "tool_call"}
    turns = to_chat_messages(
        [
            SystemMessage("sys"),
            HumanMessage("2+3?"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("5", tool_call_id="call_9"),
        ]
    )
    assert turns[2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
            }
        ],
    }
    assert turns[3] == {"role": "tool", "content": "5", "tool_call_id": "call_9"}
    assert render_turns(turns)[2]["content"] == SUM


def test_langchain_tool_choices_map_to_openai() -> None:
    tools = [ADD.openai()]
    assert openai_tool_choice("any", tools) == "required"
    assert openai_tool_choice(True, tools) == {"type": "function", "function": {"name": "add"}}
    assert openai_tool_choice("add", tools) == {"type": "function", "function": {"name": "add"}}
    assert openai_tool_choice("none", tools) == "none"
    assert ToolChoice.from_openai(openai_tool_choice("add", tools)) == ToolChoice("function", "add")
    with pytest.raises(ValueError, match="tool_choice must be"):
        ToolChoice.from_openai("sometimes")


@pytest.mark.anyio
async def test_http_streams_gather_split_tool_call_deltas() -> None:
    def event(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return "data: " + json.dumps({"model": "swift", "choices": [choice]}) + "\n\n"

    first = {"index": 0, "id": "call_a", "function": {"name": "add", "arguments": '{"a": '}}
    body = (
        event({"role": "assistant", "content": None, "tool_calls": [first]})
        + event({"tool_calls": [{"index": 0, "function": {"arguments": '2, "b": 3}'}}]})
        + event({}, "tool_calls")
        + "data: [DONE]\n\n"
    )
    events = [e async for e in _parse_stream(httpx.Response(200, text=body))]
    [done, end] = events
    assert isinstance(done, ToolCallDone) and done.index == 0
    assert (done.call.id, done.call.name, json.loads(done.call.arguments)) == (
        "call_a",
        "add",
        {"a": 2, "b": 3},
    )
    assert isinstance(end, ChatEnd) and end.finish_reason == "tool_calls"
    assert not any(isinstance(e, TextDelta) for e in events)


def test_a_remote_core_forwards_json_constraints_and_refuses_grammars() -> None:
    backend = OpenAIBackend("remote", base_url="http://remote.invalid/v1", model="m")
    schema = {"type": "object"}

    def body(constraint: Constraint) -> dict[str, Any]:
        request = CoreRequest(
            messages=[{"role": "user", "content": "hi"}],
            params=SamplingParams(constraint=constraint),
        )
        return backend._body(request, chat=True)

    assert body(Constraint("json_object"))["response_format"] == {"type": "json_object"}
    forwarded = body(Constraint.json_schema(schema))["response_format"]
    assert forwarded["type"] == "json_schema" and forwarded["json_schema"]["schema"] == schema
    with pytest.raises(ValueError, match="not a lark constraint"):
        body(Constraint("lark", "start: /a+/"))


def test_a_bare_call_object_is_a_call_whole_or_streamed() -> None:
    from twincore.platform.structured.parse import ToolCallStream, split_tool_calls

    bare = '{"name": "multiply", "arguments": {"a": 17, "b": 23}}'
    content, calls = split_tool_calls(bare)
    assert content is None and [(c.name, c.args()) for c in calls] == [
        ("multiply", {"a": 17, "b": 23})
    ]
    # an object with other keys, or text before it, is an answer, not a call
    assert split_tool_calls('{"name": "Ann", "age": 3}')[1] == []
    assert split_tool_calls("Sure: " + bare)[1] == []
    stream = ToolCallStream()
    pieces = [p for chunk in ('{"na', 'me": "multiply", "argu', 'ments": {"a": 1}}') for p in
              stream.feed(chunk)]  # fmt: skip
    assert pieces == []  # held: it may be a call
    (call,) = stream.close()
    assert not isinstance(call, str) and call.name == "multiply"
    text = ToolCallStream()
    assert text.feed('{"x": 1}') == ['{"x": 1}']


def test_unrequired_tools_let_a_bare_call_through_only_in_its_schema() -> None:
    auto = grammar(required=False, parallel=True)
    bare = PARIS.split("\n")[1]  # the call object without its tags
    assert accepts(auto, bare)
    assert not accepts(auto, bare.replace("get_weather", "get_time"))
    assert not accepts(auto, bare.replace('"Paris"', "7"))
    assert not accepts(auto, '{"name": "Ann"}')  # an object must be a call
    assert not accepts(auto, '{"t": 1} is JSON') and not accepts(auto, " " + bare)
    assert accepts(auto, "JSON looks like {}.")


def test_a_remote_core_drops_a_guide_it_cannot_apply() -> None:
    from twincore.model_core.backends.openai import OpenAIBackend

    backend = OpenAIBackend("deep", base_url="http://127.0.0.1:9/v1", model="m")
    guide = Constraint("regex", r"\d+", strict=False)
    assert backend._response_format(guide) is None
    with pytest.raises(ValueError, match="regex"):
        backend._response_format(Constraint("regex", r"\d+"))
