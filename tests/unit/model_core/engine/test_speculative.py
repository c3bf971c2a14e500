"""Speculative decoding on the tiny presets: greedy output equals plain greedy decoding token for
token whatever drafts (its own MTP module, another model, itself); sampled tokens follow the
target's distribution."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from twincore.model_core.config import load_preset
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import (
    SamplingParams,
    filtered_probs,
    make_generator,
    penalise_repeats,
)
from twincore.model_core.engine.speculative import (
    Draft,
    ModelDrafter,
    MTPDrafter,
    adapt_k,
    pick,
    verify,
)
from twincore.model_core.engine.types import EngineConfig, GenerationRequest
from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import init_random
from twincore.model_core.model import Transformer

PROMPTS = [[5, 17, 99, 3, 250, 41], [300, 2, 2, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [42]]


def _model(name: str, seed: int) -> Transformer:
    model = init_random(load_preset(name), seed=seed)
    with torch.no_grad():  # sharper than the 0.02 init, so greedy choices are far from ties
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(3.0)
    return model


def _engine(model: Transformer, drafter: ModelDrafter | MTPDrafter) -> Engine:
    config = EngineConfig(block_size=8, num_blocks=128, max_batch_tokens=16)
    return Engine(model, None, config, draft=drafter)


def _greedy_run(engine: Engine, prompt: list[int], tokens: int, **params: object) -> list[int]:
    request = GenerationRequest(tuple(prompt), SamplingParams(max_tokens=tokens, **params))  # type: ignore[arg-type]
    return engine.complete(request).token_ids[0]


@pytest.mark.parametrize("drafter_kind", ["mtp", "other-model", "itself"])
def test_greedy_speculation_equals_plain_greedy(drafter_kind: str) -> None:
    target = _model("deep-tiny", seed=3)
    drafter: ModelDrafter | MTPDrafter
    if drafter_kind == "mtp":
        drafter = MTPDrafter(target)
    elif drafter_kind == "other-model":
        drafter = ModelDrafter(_model("swift-tiny", seed=5), target_vocab=512)
    else:
        drafter = ModelDrafter(target, target_vocab=512)
    engine = _engine(target, drafter)
    try:
        for prompt in PROMPTS:
            assert _greedy_run(engine, prompt, 40) == greedy_generate(target, prompt, 40)
        stats = engine.stats()
    finally:
        engine.close()
    assert stats["spec_steps"] > 0
    if drafter_kind == "itself":  # a perfect drafter: every draft kept, k+1 tokens per pass
        assert stats["spec_acceptance"] == 1.0
        assert stats["spec_tokens_per_verify"] > 2


def test_opted_out_and_repetition_penalty_requests() -> None:
    target = _model("deep-tiny", seed=3)
    engine = _engine(target, ModelDrafter(_model("swift-tiny", seed=5), target_vocab=512))
    try:
        plain = _greedy_run(engine, PROMPTS[0], 24, speculative=False)
        assert engine.stats()["spec_steps"] == 0
        assert plain == greedy_generate(target, PROMPTS[0], 24)
        penalised = _greedy_run(engine, PROMPTS[1], 24, repetition_penalty=1.3)
        assert engine.stats()["spec_steps"] > 0
    finally:
        engine.close()
    reference = Engine(target, None, EngineConfig(block_size=8, num_blocks=128))
    try:
        assert penalised == _greedy_run(reference, PROMPTS[1], 24, repetition_penalty=1.3)
    finally:
        reference.close()


def test_concurrent_requests_fall_back_to_batched_decoding() -> None:
    target = _model("deep-tiny", seed=3)
    engine = _engine(target, MTPDrafter(target))
    try:
        request = GenerationRequest(tuple(PROMPTS[0]), SamplingParams(max_tokens=20, n=3))
        completion = engine.complete(request)
        assert engine.stats()["spec_steps"] == 0  # three candidates run together
    finally:
        engine.close()
    expected = greedy_generate(target, PROMPTS[0], 20)
    assert completion.token_ids == [expected] * 3


def test_adapt_k_grows_after_full_acceptance_and_shrinks_after_rejection() -> None:
    assert adapt_k(4, 4, 8) == 5
    assert adapt_k(8, 8, 8) == 8
    assert adapt_k(4, 1, 8) == 2
    assert adapt_k(4, 0, 8) == 1


def _target_probs(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    return filtered_probs(penalise_repeats(logits[None].float(), [params], [[]]), [params])[0]


@pytest.mark.parametrize("k", [1, 3])
def test_sampled_tokens_follow_the_target_distribution(k: int) -> None:
    """First emitted token of many verify steps vs the target's filtered distribution: the total
    variation distance stays within sampling noise though the draft distribution differs."""
    params = SamplingParams(temperature=1.0, top_k=12)
    target, draft_model = _model("deep-tiny", seed=3), _model("swift-tiny", seed=5)
    prompt = torch.tensor([PROMPTS[0]])
    positions = torch.arange(len(PROMPTS[0]))[None]
    with torch.inference_mode():
        target_logits = target(prompt, positions)[0, -1]  # [V]
        draft_logits = draft_model(prompt, positions)[0, -1]
    p = _target_probs(target_logits, params)
    q = _target_probs(draft_logits, params)
    assert 0.5 * float((p - q).abs().sum()) > 0.2  # the drafts really disagree with the target
    generator = make_generator(SamplingParams(seed=11))
    token, dist = pick(draft_logits, params, [], generator, 512)
    assert dist is not None and torch.allclose(dist, q) and q[token] > 0
    counts: Counter[int] = Counter()
    trials = 3000
    # Rows after the first only matter once the first draft is kept; they reuse the same logits.
    logits = target_logits[None].expand(k + 1, -1)
    drafts = torch.multinomial(q, trials * k, replacement=True, generator=generator).view(-1, k)
    probs = q[None].expand(k, -1)
    for tokens in drafts.tolist():
        emitted, logprobs = verify(logits, Draft(tokens, probs), params, generator, [])
        assert 1 <= len(emitted) <= k + 1 and len(logprobs) == len(emitted)
        counts[emitted[0]] += 1
    observed = torch.zeros_like(p)
    for token, count in counts.items():
        observed[token] = count / trials
    distance = 0.5 * float((observed - p).abs().sum())
    # 12 outcomes, 3000 draws: the expected distance is about 0.025 (its spread about 0.006), so
    # 0.06 is far out in the tail; emitting the drafts unchecked would give about 0.2 or more.
    assert distance < 0.06, f"total variation {distance:.3f}"


def test_greedy_verify_keeps_the_agreeing_prefix_and_adds_the_target_token() -> None:
    logits = torch.full((4, 10), -5.0)
    for row, best in enumerate([3, 4, 9, 1]):
        logits[row, best] = 5.0
    emitted, _ = verify(logits, Draft([3, 4, 5]), SamplingParams(), None, [])
    assert emitted == [3, 4, 9]  # two kept, then the target's own token at the disagreement
    emitted, _ = verify(logits, Draft([3, 4, 9]), SamplingParams(), None, [])
    assert emitted == [3, 4, 9, 1]  # all kept, plus a bonus token
