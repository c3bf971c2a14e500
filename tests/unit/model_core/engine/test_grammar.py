"""Grammar-constrained decoding on a small real BPE tokenizer and the tiny random presets: the
compile cache, masks checked against a brute-force reading of every token, and the engine's
constrained output through batching, candidates, the prefix cache and speculative decoding."""

from __future__ import annotations

import json
import queue
import re

import pytest
import torch
from tokenizers import Tokenizer as Backend
from tokenizers import decoders, models, pre_tokenizers, trainers

from twincore.model_core.config import load_preset
from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.grammar import (
    GrammarCompiler,
    GrammarError,
    allowed_mask,
    draft_masks,
)
from twincore.model_core.engine.sampling import SamplingParams, restrict
from twincore.model_core.engine.speculative import ModelDrafter
from twincore.model_core.engine.types import Chunk, EngineConfig, GenerationRequest
from twincore.model_core.loader import init_random
from twincore.model_core.model import Transformer
from twincore.model_core.tokenizer import Tokenizer

VOCAB = 500  # the tiny presets' logits are 512 wide: 12 padding ids no tokenizer produces
CORPUS = [
    '{"name": "Ada", "age": 36, "ok": true}',
    '{"color": "red", "items": [1, 2, 3], "ok": false}',
    "call 555-0100 or 555-0199, yes or no, 123-4567",
    "The quick brown fox jumps over the lazy dog. 0123456789",
] * 20
PHONE = Constraint("regex", r"[0-9]{3}-[0-9]{4}")  # \d would take any Unicode digit
PHONE_PREFIX = re.compile(r"[0-9]{0,3}|[0-9]{3}-[0-9]{0,4}")
SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "color": {"enum": ["red", "green"]}},
    "required": ["ok", "color"],
    "additionalProperties": False,
}
PROMPTS = [(5, 17, 99, 3, 250, 41), (300, 2, 2, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20), (42,)]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    """A byte-level BPE trained on a few lines: every byte is a token, and so are multi-character
    pieces such as '"name"' that a mask must judge as a whole."""
    backend = Backend(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<|endoftext|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(CORPUS, trainer)
    return Tokenizer(backend, eos_token="<|endoftext|>")


def _model(name: str = "deep-tiny", seed: int = 3) -> Transformer:
    model = init_random(load_preset(name), seed=seed)
    with torch.no_grad():  # sharper than the 0.02 init, so greedy choices are far from ties
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(3.0)
    return model


def _allowed_ids(compiler: GrammarCompiler, constraint: Constraint, output: list[int]) -> set[int]:
    matcher = compiler.compile(constraint).matcher()
    for token in output:
        assert matcher.consume(token)
    stops = set(compiler.tokenizer.stop_ids)
    mask = allowed_mask([matcher], [stops], compiler.vocab_size, torch.device("cpu"))
    assert mask is not None
    return set(torch.nonzero(mask[0]).flatten().tolist())


# ----- compiling -------------------------------------------------------------------------------


def test_a_constraint_compiles_once_and_the_cache_keeps_the_most_recent(
    tokenizer: Tokenizer,
) -> None:
    compiler = GrammarCompiler(tokenizer, 512, capacity=2)
    schema = Constraint.json_schema(SCHEMA)
    first = compiler.compile(schema)
    assert compiler.compile(Constraint.json_schema(SCHEMA)) is first  # equal, not the same object
    assert (compiler.compiled, compiler.cache_hits) == (1, 1)
    compiler.compile(PHONE)
    compiler.compile(schema)  # touched: the phone regex is now the oldest
    compiler.compile(Constraint("lark", 'start: "yes" | "no"'))
    assert (compiler.compiled, compiler.cache_hits) == (3, 2)
    assert compiler.compile(schema) is first
    compiler.compile(PHONE)
    assert compiler.compiled == 4  # evicted, compiled again


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (Constraint("lark", 'start: "a" ('), "invalid lark constraint"),
        (Constraint("regex", "(ab"), "unclosed group"),
        (Constraint("json_schema", '{"type": "nonsense"}'), "nonsense"),
        (Constraint("json_schema", "[1, 2]"), "must be a JSON object"),
        (Constraint("lark", "start: undefined_rule"), "undefined_rule"),
    ],
)
def test_a_constraint_that_does_not_compile_is_a_value_error_with_the_reason(
    tokenizer: Tokenizer, constraint: Constraint, message: str
) -> None:
    compiler = GrammarCompiler(tokenizer, 512)
    with pytest.raises(GrammarError, match=re.escape(message)):
        compiler.compile(constraint)
    assert compiler.compiled == 0


# ----- masks -----------------------------------------------------------------------------------


def test_the_mask_allows_exactly_the_tokens_that_keep_a_phone_number_possible(
    tokenizer: Tokenizer,
) -> None:
    compiler = GrammarCompiler(tokenizer, 512)
    output: list[int] = []
    text = ""
    stops = set(tokenizer.stop_ids)
    for step in range(12):
        allowed = _allowed_ids(compiler, PHONE, output)
        expected = {
            token
            for token in range(tokenizer.vocab_size)
            if token not in stops
            and PHONE_PREFIX.fullmatch(text + tokenizer.decode([token], skip_special_tokens=False))
            and tokenizer.decode([token])  # a token that adds nothing is not progress
        }
        accepting = re.fullmatch(r"[0-9]{3}-[0-9]{4}", text) is not None
        assert allowed - stops == expected, f"step {step} after {text!r}"
        assert (allowed & stops == stops) == accepting
        assert max(allowed) < tokenizer.vocab_size  # the padding ids of the logits never
        if accepting:
            break
        # Walk on with the longest allowed piece, so multi-character tokens get exercised.
        token = max(expected, key=lambda t: (len(tokenizer.decode([t])), t))
        output.append(token)
        text += tokenizer.decode([token])
    assert re.fullmatch(r"[0-9]{3}-[0-9]{4}", text)


def test_a_finished_grammar_allows_only_the_stop_ids(tokenizer: Tokenizer) -> None:
    compiler = GrammarCompiler(tokenizer, 512)
    matcher = compiler.compile(Constraint("lark", 'start: "yes" | "no"')).matcher()
    for token in tokenizer.encode("yes"):
        assert not matcher.finished
        assert matcher.consume(token)
    assert matcher.accepting and matcher.finished
    request_stops = {*tokenizer.stop_ids, 7}  # a request's own stop id counts as EOS too
    mask = allowed_mask([matcher, None], [request_stops, ()], 512, torch.device("cpu"))
    assert mask is not None
    assert set(torch.nonzero(mask[0]).flatten().tolist()) == request_stops
    assert bool(mask[1].all())  # an unconstrained row


def test_draft_masks_stop_at_a_forbidden_draft_and_leave_the_matcher_where_it_was(
    tokenizer: Tokenizer,
) -> None:
    compiler = GrammarCompiler(tokenizer, 512)
    stops = set(tokenizer.stop_ids)
    digit, dash, letter = (tokenizer.encode(c)[0] for c in "5-x")
    matcher = compiler.compile(PHONE).matcher()
    masks = draft_masks(matcher, [digit, digit, letter, digit], stops, 512, torch.device("cpu"))
    assert masks.shape == (5, 512)
    assert [bool(masks[j, digit]) for j in range(3)] == [True, True, True]
    assert not bool(masks[2, letter])  # the third draft is forbidden: verification rejects it
    assert bool(masks[3:].all())  # past it nothing is checked
    # The matcher is back at the start: three digits and a dash are still ahead of it.
    for token in (digit, digit, digit, dash):
        assert matcher.consume(token)
    masks = draft_masks(matcher, [digit] * 5, stops, 512, torch.device("cpu"))
    assert not bool(masks[4, digit]) and bool(masks[4, list(stops)].all())  # seven digits: done


def test_restrict_keeps_the_grammar_when_the_bans_would_leave_nothing() -> None:
    scores = torch.zeros(2, 6)
    allowed = torch.tensor([[0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0]], dtype=torch.bool)
    out = restrict(scores, [{1}, {3}], allowed)
    assert torch.isfinite(out[0]).tolist() == [False, False, True, False, False, False]
    assert torch.isfinite(out[1]).tolist() == [False, False, False, True, False, False]


# ----- the engine ------------------------------------------------------------------------------


def _engine(tokenizer: Tokenizer, **kwargs: object) -> Engine:
    config = EngineConfig(block_size=8, num_blocks=256, max_batch_tokens=16)
    return Engine(_model(), tokenizer, config, **kwargs)  # type: ignore[arg-type]


def _run(engine: Engine, prompt: tuple[int, ...], **params: object) -> tuple[str, str]:
    params.setdefault("max_tokens", 40)
    completion = engine.complete(GenerationRequest(prompt, SamplingParams(**params)))  # type: ignore[arg-type]
    return completion.texts[0], completion.finish_reasons[0]


def _valid(text: str) -> bool:
    value = json.loads(text)
    return (
        set(value) == {"ok", "color"}
        and isinstance(value["ok"], bool)
        and value["color"] in ("red", "green")
    )


def test_a_random_model_writes_only_what_the_constraint_allows(tokenizer: Tokenizer) -> None:
    engine = _engine(tokenizer)
    schema = Constraint.json_schema(SCHEMA)
    try:
        free, _ = _run(engine, PROMPTS[0])
        phone = _run(engine, PROMPTS[0], constraint=PHONE)
        answers = [_run(engine, p, constraint=schema, max_tokens=60) for p in PROMPTS]
        request = GenerationRequest(PROMPTS[1], SamplingParams(max_tokens=60, constraint=schema))
        again = engine.complete(request)  # its first block now comes from the prefix cache
        sampled = engine.complete(
            GenerationRequest(
                PROMPTS[1],
                SamplingParams(max_tokens=60, constraint=schema, n=3, temperature=1.0, seed=4),
            )
        )
        stats = engine.stats()
    finally:
        engine.close()
    assert not re.fullmatch(r"[0-9]{3}-[0-9]{4}", free)  # the model alone writes something else
    assert re.fullmatch(r"[0-9]{3}-[0-9]{4}", phone[0]) and phone[1] == "stop"
    assert all(_valid(text) and reason == "stop" for text, reason in answers)
    assert again.usage.cached_prompt_tokens == 8 and again.texts[0] == answers[1][0]
    assert all(_valid(text) for text in sampled.texts)
    assert sampled.finish_reasons == ["stop"] * 3
    assert stats["grammar_compiled"] == 2 and stats["grammar_cache_hits"] == 4
    assert stats["grammar_tokens"] > 0 and stats["grammar_mask_ms_per_token"] > 0


def test_a_batch_of_mixed_rows_gives_each_row_what_it_gives_alone(tokenizer: Tokenizer) -> None:
    rows = [
        (PROMPTS[0], PHONE),
        (PROMPTS[1], None),
        (PROMPTS[2], Constraint.json_schema(SCHEMA)),
        (PROMPTS[0], Constraint("lark", 'start: "yes" | "no" | "maybe"')),
    ]
    engine = _engine(tokenizer)
    try:
        alone = [_run(engine, prompt, constraint=c) for prompt, c in rows]
        chunks: queue.Queue[Chunk] = queue.Queue()
        # Holding the engine's lock keeps the worker from starting before all four are queued,
        # so they are admitted in one step and decode in the same batches.
        with engine._lock:
            ids = [
                engine.submit(
                    GenerationRequest(p, SamplingParams(max_tokens=40, constraint=c)), chunks.put
                )
                for p, c in rows
            ]
        texts = dict.fromkeys(ids, "")
        reasons: dict[str, str] = {}
        while len(reasons) < len(rows):
            chunk = chunks.get(timeout=60)
            texts[chunk.request_id] += chunk.text
            if chunk.finish_reason is not None:
                reasons[chunk.request_id] = chunk.finish_reason
    finally:
        engine.close()
    assert [(texts[i], reasons[i]) for i in ids] == alone


def test_speculation_with_a_grammar_equals_plain_constrained_greedy(tokenizer: Tokenizer) -> None:
    plain = _engine(tokenizer)
    target = plain.model
    schema = Constraint.json_schema(SCHEMA)
    try:
        expected = [_run(plain, p, constraint=schema, max_tokens=60) for p in PROMPTS]
    finally:
        plain.close()
    # A drafter of another model proposes tokens the grammar often forbids.
    drafter = ModelDrafter(_model("swift-tiny", seed=5), target_vocab=512)
    config = EngineConfig(block_size=8, num_blocks=256, max_batch_tokens=16)
    speculative = Engine(target, tokenizer, config, draft=drafter)
    try:
        got = [_run(speculative, p, constraint=schema, max_tokens=60) for p in PROMPTS]
        stats = speculative.stats()
    finally:
        speculative.close()
    assert got == expected
    assert stats["spec_steps"] > 0 and stats["spec_accepted"] < stats["spec_drafted"]


def test_a_bad_constraint_is_refused_at_submit(tokenizer: Tokenizer) -> None:
    engine = _engine(tokenizer)
    bare = Engine(_model(), None, EngineConfig(block_size=8, num_blocks=64))
    try:
        with pytest.raises(ValueError, match="invalid regex constraint"):
            _run(engine, PROMPTS[0], constraint=Constraint("regex", "[a-"))
        with pytest.raises(ValueError, match="needs an engine with a tokenizer"):
            _run(bare, PROMPTS[0], constraint=PHONE)
        assert engine.stats()["requests"] == 0
    finally:
        engine.close()
        bare.close()
