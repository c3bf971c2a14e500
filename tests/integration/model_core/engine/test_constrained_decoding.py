"""Constrained decoding on the real SmolLM2-135M: JSON schemas, regexes and Lark grammars hold
through batching, candidates, the prefix cache and speculative decoding."""

from __future__ import annotations

import json
import queue
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # pinned in requirements/lock.txt
import pytest
from gguf import GGUFReader

from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.speculative import ModelDrafter
from twincore.model_core.engine.types import Chunk, Completion, EngineConfig, GenerationRequest
from twincore.model_core.loader import load_model
from twincore.model_core.model import Transformer
from twincore.model_core.tokenizer import Tokenizer

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"type": "string", "maxLength": 20},
        "hobbies": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
    },
    "required": ["name", "age", "city", "hobbies"],
    "additionalProperties": False,
}
PHONE = r"\d{3}-\d{4}"
YES_NO = 'start: "yes" | "no"'
CONFIG = EngineConfig(block_size=16, num_blocks=512, max_batch_tokens=32)


@pytest.fixture(scope="module")
def smollm2(default_gguf: Callable[[str], Path]) -> tuple[Transformer, Tokenizer]:
    reader = GGUFReader(default_gguf("smollm2-135m-instruct"))
    return load_model(reader), Tokenizer.from_gguf(reader)


@pytest.fixture(scope="module")
def engine(smollm2: tuple[Transformer, Tokenizer]) -> Iterator[Engine]:
    engine = Engine(*smollm2, CONFIG)
    yield engine
    engine.close()


def _prompt(tokenizer: Tokenizer, question: str) -> tuple[int, ...]:
    return tuple(tokenizer.encode_chat([{"role": "user", "content": question}]))


def _complete(engine: Engine, tokenizer: Tokenizer, question: str, **params: object) -> Completion:
    params.setdefault("max_tokens", 96)
    request = GenerationRequest(_prompt(tokenizer, question), SamplingParams(**params))  # type: ignore[arg-type]
    return engine.complete(request)


def test_json_schema_output_validates(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    question = "Describe a fictional person as JSON with name, age, city and hobbies."
    free = _complete(engine, tokenizer, question)
    constrained = _complete(engine, tokenizer, question, constraint=Constraint.json_schema(PERSON))
    with pytest.raises((ValueError, jsonschema.ValidationError)):  # the model alone fails
        jsonschema.validate(json.loads(free.texts[0]), PERSON)
    jsonschema.validate(json.loads(constrained.texts[0]), PERSON)
    assert constrained.finish_reasons == ["stop"]


def test_a_regex_and_a_lark_grammar_hold(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    phone = _complete(
        engine, tokenizer, "Make up a phone number.", constraint=Constraint("regex", PHONE)
    )
    assert re.fullmatch(PHONE, phone.texts[0]) and phone.finish_reasons == ["stop"]
    answer = _complete(engine, tokenizer, "Is water wet?", constraint=Constraint("lark", YES_NO))
    assert answer.texts[0] in ("yes", "no") and answer.finish_reasons == ["stop"]
    # A stop string still cuts the output (here before the dash the grammar requires).
    cut = _complete(
        engine,
        tokenizer,
        "Make up a phone number.",
        constraint=Constraint("regex", PHONE),
        stop=("-",),
    )
    assert cut.texts[0] == phone.texts[0].split("-")[0]


def test_mixed_batch_rows_equal_each_row_alone(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    rows = [
        ("Describe a person as JSON.", Constraint.json_schema(PERSON)),
        ("Write a haiku about rain.", None),
        ("Make up a phone number.", Constraint("regex", PHONE)),
        ("Is the sun a star?", Constraint("lark", YES_NO)),
        ("Describe another person as JSON.", Constraint.json_schema(PERSON)),
    ]
    alone = [_complete(engine, tokenizer, q, constraint=c, max_tokens=48) for q, c in rows]
    chunks: queue.Queue[Chunk] = queue.Queue()
    # Holding the engine's lock keeps the worker from starting before all rows are queued.
    with engine._lock:
        ids = [
            engine.submit(
                GenerationRequest(
                    _prompt(tokenizer, q), SamplingParams(max_tokens=48, constraint=c)
                ),
                chunks.put,
            )
            for q, c in rows
        ]
    texts = dict.fromkeys(ids, "")
    reasons: dict[str, str] = {}
    while len(reasons) < len(rows):
        chunk = chunks.get(timeout=120)
        texts[chunk.request_id] += chunk.text
        if chunk.finish_reason is not None:
            reasons[chunk.request_id] = chunk.finish_reason
    assert [texts[i] for i in ids] == [c.texts[0] for c in alone]
    assert [reasons[i] for i in ids] == [c.finish_reasons[0] for c in alone]


def test_three_sampled_candidates_all_validate(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    completion = _complete(
        engine, tokenizer, "Describe a fictional person as JSON.",
        constraint=Constraint.json_schema(PERSON), n=3, temperature=1.0, seed=7,
    )  # fmt: skip
    assert len(set(completion.texts)) > 1  # three walks of their own
    for text in completion.texts:
        jsonschema.validate(json.loads(text), PERSON)
    assert completion.finish_reasons == ["stop"] * 3


def test_a_prefix_cache_hit_is_still_constrained(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    question = "Describe a person who lives in Paris as JSON. " * 4  # several full blocks
    free = _complete(engine, tokenizer, question, max_tokens=32)
    constrained = _complete(engine, tokenizer, question, constraint=Constraint.json_schema(PERSON))
    assert constrained.usage.cached_prompt_tokens >= 32
    assert free.texts[0] != constrained.texts[0][: len(free.texts[0])]
    jsonschema.validate(json.loads(constrained.texts[0]), PERSON)
    stats = engine.stats()
    assert stats["grammar_cache_hits"] > 0 and stats["grammar_mask_ms_per_token"] > 0


def test_speculative_constrained_greedy_equals_plain(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    model, tokenizer = smollm2
    questions = ["Describe a person as JSON.", "Make up a phone number."]
    constraints = [Constraint.json_schema(PERSON), Constraint("regex", PHONE)]
    plain = [
        _complete(engine, tokenizer, q, constraint=c)
        for q, c in zip(questions, constraints, strict=True)
    ]
    speculative = Engine(
        model, tokenizer, CONFIG, draft=ModelDrafter(model, target_vocab=model.config.vocab_size)
    )
    try:
        drafted = [
            _complete(speculative, tokenizer, q, constraint=c)
            for q, c in zip(questions, constraints, strict=True)
        ]
        stats = speculative.stats()
    finally:
        speculative.close()
    assert [c.token_ids for c in drafted] == [c.token_ids for c in plain]
    assert stats["spec_steps"] > 0


def test_a_bad_grammar_is_a_value_error_with_the_compilers_message(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    with pytest.raises(ValueError, match=r"invalid lark constraint(.|\n)*Expected"):
        _complete(engine, tokenizer, "hi", constraint=Constraint("lark", 'start: "a" ('))
