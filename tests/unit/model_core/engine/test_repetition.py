"""The repetition guard: the detector on hand-made token and line sequences, and the engine's
plain, batched and speculative paths on the tiny presets."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch

from twincore.model_core.config import load_preset
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.repetition import (
    LineReader,
    RepetitionGuard,
    RepetitionState,
    normalise_line,
)
from twincore.model_core.engine.sampling import SamplingParams, ban_tokens
from twincore.model_core.engine.speculative import ModelDrafter, MTPDrafter
from twincore.model_core.engine.types import EngineConfig, GenerationRequest
from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import init_random
from twincore.model_core.model import Transformer

# A toy vocabulary: id -> text.
VOCAB = [
    "\n", "Autumn", " rain", " falls", " softly", ".", "  ", "The", " sky", " is", " grey",
    ".\n", "}", "\n\n", " on", " the", " roof", "autumn", ",", " leaves",
]  # fmt: skip
NL, AUTUMN, RAIN, FALLS, SOFTLY, DOT, SPACES, THE, SKY, IS, GREY = range(11)
DOT_NL, BRACE, NL2, ON, THE_, ROOF, AUTUMN_LOWER, COMMA, LEAVES = range(11, 20)
EOS = 99
LINES = LineReader(
    decode=lambda ids: "".join(VOCAB[i] for i in ids),
    newline_ids=frozenset(i for i, text in enumerate(VOCAB) if "\n" in text),
)
LINE = [AUTUMN, RAIN, FALLS, SOFTLY]


def _state(guard: RepetitionGuard | None = None, tokens: Sequence[int] = ()) -> RepetitionState:
    state = RepetitionState(guard or RepetitionGuard(), LINES, stop_ids=[EOS])
    for token in tokens:
        state.push(token)
    return state


def test_a_third_copy_of_a_line_is_stopped_halfway_and_can_never_end() -> None:
    state = _state(tokens=[*LINE, NL, THE, SKY, IS, GREY, NL, *LINE, NL, THE, SKY, NL])
    assert state.bans == frozenset()
    state.push(AUTUMN)
    assert state.bans == frozenset(), "a line that only starts like a full one may go on"
    state.push(RAIN)  # half of "Autumn rain falls softly" copied: it may not go on copying it
    assert state.bans == {FALLS}
    assert state.strikes == 1
    state.push(FALLS)  # (forced, as if the ban were ignored)
    state.push(SOFTLY)  # the third copy now reads the same: nothing may end it
    assert state.bans == LINES.newline_ids | {EOS}
    strikes = state.strikes
    state.push(DOT)  # punctuation does not make it another line
    assert state.bans == LINES.newline_ids | {EOS}
    assert state.strikes == strikes  # one line held at its limit is one strike, however long
    state.push(ON)
    assert state.bans == frozenset()


def test_lines_compare_without_case_punctuation_or_spacing() -> None:
    assert normalise_line("  Autumn rain,  falls SOFTLY. ") == "autumn rain falls softly"
    # "Autumn rain falls softly.\n" then "autumn rain, falls softly\n": two copies of one line.
    state = _state(tokens=[*LINE, DOT_NL, AUTUMN_LOWER, RAIN, COMMA, FALLS, SOFTLY, NL2, *LINE])
    assert state.bans == LINES.newline_ids | {EOS}


def test_distinct_and_short_lines_are_never_banned() -> None:
    distinct = [*LINE, NL, THE, SKY, IS, GREY, NL, *LINE, ON, THE_, ROOF, NL]
    state = _state(tokens=[*distinct, THE, SKY, IS, GREY, DOT])
    assert state.bans == frozenset()  # each line appeared at most twice so far
    braces = _state(tokens=[BRACE, NL, SPACES, BRACE, NL, BRACE, NL, BRACE, NL2, BRACE])
    assert braces.bans == frozenset() and braces.strikes == 0  # "}" is shorter than 8 chars


def test_a_token_loop_is_caught_when_it_would_start_one_copy_too_many() -> None:
    loop = [THE, SKY, IS, GREY, COMMA]
    state = _state(tokens=loop + loop[:-1])
    assert state.bans == frozenset()
    state.push(loop[-1])  # two back-to-back copies: the next copy's first token is banned
    assert state.bans == {THE}
    assert state.strikes == 1
    state.push(ON)  # the model went elsewhere
    assert state.bans == frozenset()
    three = _state(RepetitionGuard(max_loop_repeats=3), loop * 2)
    assert three.bans == frozenset()
    three_more = _state(RepetitionGuard(max_loop_repeats=3), loop * 3)
    assert three_more.bans == {THE}


@pytest.mark.parametrize("short", [[NL], [SPACES], [NL, SPACES], [BRACE, NL, SPACES]])
def test_repeated_short_tokens_are_not_a_loop(short: list[int]) -> None:
    state = _state(RepetitionGuard(), short * 40)
    assert state.bans == frozenset()
    assert state.strikes == 0


def test_patience_counts_loops_and_the_copy_is_independent() -> None:
    loop = [THE, SKY, IS, GREY]
    state = _state(RepetitionGuard(patience=1), loop * 2)
    assert state.strikes == 1 and not state.exhausted
    probe = state.copy()
    for token in [ON, *loop, *loop]:  # break the loop, then fall into it again
        probe.push(token)
    assert probe.strikes == 2 and probe.exhausted
    assert state.strikes == 1 and state.bans == {THE}  # the original did not move
    assert _state(RepetitionGuard(patience=0), loop * 2).exhausted


def test_the_guard_is_validated_with_the_sampling_parameters() -> None:
    SamplingParams(repetition_guard=RepetitionGuard()).validate()
    bad = RepetitionGuard(max_loop_repeats=1, min_loop_tokens=10, max_loop_tokens=5, patience=-1)
    with pytest.raises(ValueError) as error:
        SamplingParams(repetition_guard=bad).validate()
    message = str(error.value)
    for field in ("max_loop_repeats", "min_loop_tokens", "patience"):
        assert "repetition_guard: " in message and field in message
    assert hash(SamplingParams(repetition_guard=RepetitionGuard()))  # still frozen and hashable


def test_ban_tokens_masks_only_the_banned_ids_of_each_row() -> None:
    scores = torch.zeros(2, 5)
    banned = ban_tokens(scores, [{1, 3}, set()])
    assert banned[0].tolist() == [0.0, float("-inf"), 0.0, float("-inf"), 0.0]
    assert banned[1].tolist() == [0.0] * 5
    assert scores.eq(0).all()  # out of place
    assert ban_tokens(scores, None) is scores


# ----- the engine on tiny random models (no tokenizer: the loop rule alone) -------------------

PROMPTS = [[42], [5, 17, 99, 3, 250, 41], [300, 2, 2, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]]
# min_loop_tokens 2: random tiny models loop with short periods.
GUARD = RepetitionGuard(min_loop_tokens=2, patience=1000)


def _model(name: str, seed: int) -> Transformer:
    model = init_random(load_preset(name), seed=seed)
    with torch.no_grad():  # sharper than the 0.02 init, so greedy choices are far from ties
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(3.0)
    return model


def _engine(model: Transformer, drafter: ModelDrafter | MTPDrafter | None = None) -> Engine:
    return Engine(model, None, EngineConfig(block_size=8, num_blocks=256), draft=drafter)


def _request(prompt: list[int], **params: object) -> GenerationRequest:
    return GenerationRequest(tuple(prompt), SamplingParams(max_tokens=80, **params))  # type: ignore[arg-type]


def _triple(tokens: list[int], shortest: int = 2, longest: int = 64) -> tuple[int, int] | None:
    """(start, period) of three back-to-back copies of a span whose own period is >= shortest."""
    for k in range(shortest, longest + 1):
        for i in range(len(tokens) - 3 * k + 1):
            window = tokens[i : i + 3 * k]
            periodic = all(window[j] == window[j - k] for j in range(k, 3 * k))
            short = any(
                all(window[j] == window[j - p] for j in range(p, 3 * k)) for p in range(1, shortest)
            )
            if periodic and not short:
                return i, k
    return None


def test_guarded_greedy_decoding_holds_no_third_copy() -> None:
    looped = 0
    for name, seed in [("deep-tiny", 3), ("swift-tiny", 5)]:
        model = _model(name, seed)
        engine = _engine(model)
        try:
            for prompt in PROMPTS:
                plain = greedy_generate(model, prompt, 80)
                looped += _triple(plain) is not None
                tokens = engine.complete(_request(prompt, repetition_guard=GUARD)).token_ids[0]
                assert _triple(tokens) is None, (plain, tokens)
                # Up to the first place where the guard had to act the two runs agree.
                same = next(
                    (
                        i
                        for i, pair in enumerate(zip(plain, tokens, strict=True))
                        if len(set(pair)) > 1
                    ),
                    80,
                )
                assert same == 80 or _twice_before(plain, same)
        finally:
            engine.close()
    assert looped, "no prompt loops without the guard: the test would prove nothing"


def _twice_before(tokens: list[int], end: int) -> bool:
    """Whether tokens[:end] ends with two copies of a span of 2..64 tokens."""
    head = tokens[:end]
    return any(
        len(head) >= 2 * k and head[-k:] == head[-2 * k : -k] and len(set(head[-2 * k :])) > 1
        for k in range(2, 65)
    )


def test_patience_zero_ends_the_generation_with_finish_reason_repetition() -> None:
    model = _model("deep-tiny", 3)
    engine = _engine(model)
    try:
        guard = RepetitionGuard(min_loop_tokens=2, patience=0)
        stopped = engine.complete(_request(PROMPTS[0], repetition_guard=guard))
    finally:
        engine.close()
    plain = greedy_generate(model, PROMPTS[0], 80)
    tokens = stopped.token_ids[0]
    assert stopped.finish_reasons == ["repetition"]
    assert tokens == plain[: len(tokens)] and _twice_before(tokens, len(tokens))


def test_batched_rows_are_guarded_independently() -> None:
    model = _model("deep-tiny", 3)
    engine = _engine(model)
    try:
        solo = engine.complete(_request(PROMPTS[0], repetition_guard=GUARD)).token_ids[0]
        results: dict[str, list[int]] = {}
        sinks = {
            "guarded": _request(PROMPTS[0], repetition_guard=GUARD),
            "plain": _request(PROMPTS[0]),
            "candidates": _request(PROMPTS[0], repetition_guard=GUARD, n=2),
        }
        streams = {name: engine.stream(request) for name, request in sinks.items()}
        for name, stream in streams.items():
            for chunk in stream:
                results.setdefault(f"{name}{chunk.index}", []).extend(chunk.token_ids)
    finally:
        engine.close()
    assert results["guarded0"] == solo
    assert results["plain0"] == greedy_generate(model, PROMPTS[0], 80)
    assert results["candidates0"] == results["candidates1"] == solo


@pytest.mark.parametrize("drafter_kind", ["mtp", "itself", "other-model"])
def test_speculative_guarded_output_equals_plain_guarded_output(drafter_kind: str) -> None:
    target = _model("deep-tiny", 3)
    drafter: ModelDrafter | MTPDrafter
    if drafter_kind == "mtp":
        drafter = MTPDrafter(target)
    elif drafter_kind == "itself":
        drafter = ModelDrafter(target, target_vocab=512)  # drafts the loop the guard refuses
    else:
        drafter = ModelDrafter(_model("swift-tiny", seed=5), target_vocab=512)
    speculative, reference = _engine(target, drafter), _engine(target)
    try:
        for prompt in PROMPTS:
            for params in ({}, {"temperature": 0.8, "seed": 7}):
                request = _request(prompt, repetition_guard=GUARD, **params)
                drafted = speculative.complete(request).token_ids[0]
                assert _triple(drafted) is None
                if not params:  # greedy: token for token what plain decoding gives
                    assert drafted == reference.complete(request).token_ids[0]
        assert speculative.stats()["spec_steps"] > 0
    finally:
        speculative.close()
        reference.close()
