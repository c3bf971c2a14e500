"""Sampling on crafted logits: greedy, repetition penalty, top-k/top-p, seeds, logprobs."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from twincore.model_core.engine.sampling import SamplingParams, make_generator, sample

GREEDY = SamplingParams()


def _one(logits: list[float], params: SamplingParams, seen: list[int] | None = None) -> int:
    tokens, _ = sample(torch.tensor([logits]), [params], [None], [seen or []])
    return tokens[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_greedy_is_argmax(dtype: torch.dtype) -> None:
    logits = torch.randn(6, 300, generator=torch.Generator().manual_seed(0)).to(dtype)
    tokens, _ = sample(logits, [GREEDY] * 6, [None] * 6, [[]] * 6)
    assert tokens == logits.float().argmax(dim=-1).tolist()


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    penalty = SamplingParams(repetition_penalty=2.0)
    # Seen positive 2.0 -> 1.0, below the unseen 1.5.
    assert _one([2.0, -1.0, 1.5], GREEDY, seen=[0]) == 0
    assert _one([2.0, -1.0, 1.5], penalty, seen=[0, 0, 1]) == 2
    # Seen negative -0.5 -> -1.0, below the unseen -0.8; dividing would have raised it to -0.25.
    assert _one([-0.5, -1.0, -0.8], penalty, seen=[0]) == 2
    assert _one([-0.9, -1.0, -0.8], penalty, seen=[1]) == 2  # -1.0 -> -2.0 stays last
    # Below 1 it encourages: seen 0.8 / 0.5 = 1.6 beats 1.0.
    assert _one([1.0, 0.8], SamplingParams(repetition_penalty=0.5), seen=[1]) == 1
    # Exact boundary: 3.0 / 1.5 = 2.0 ties the unseen 2.0 at index 1, and argmax takes the first.
    assert _one([3.0, 2.0], SamplingParams(repetition_penalty=1.5), seen=[0]) == 0
    assert _one([3.0, 2.0], SamplingParams(repetition_penalty=1.6), seen=[0]) == 1


def test_penalty_leaves_the_callers_logits_and_the_reported_logprob_alone() -> None:
    logits = torch.tensor([[2.0, 1.5, 0.0]])
    before = logits.clone()
    tokens, logprobs = sample(logits, [SamplingParams(repetition_penalty=4.0)], [None], [[0]])
    assert tokens == [1]
    assert torch.equal(logits, before)
    assert logprobs[0] == pytest.approx(torch.log_softmax(before, -1)[0, 1].item())


def test_top_k_one_equals_greedy() -> None:
    logits = torch.randn(16, 500, generator=torch.Generator().manual_seed(1))
    logits[3, :] = 0.0  # all tied: argmax and top-1 both take id 0
    params = [SamplingParams(temperature=1.5, top_k=1, seed=row) for row in range(16)]
    generators = [make_generator(p) for p in params]
    tokens, _ = sample(logits, params, generators, [[]] * 16)
    assert tokens == logits.argmax(dim=-1).tolist()


def _draws(probs: list[float], params: SamplingParams, count: int) -> Counter[int]:
    logits = torch.tensor([probs]).log().expand(count, -1)
    generator = make_generator(params)
    tokens, _ = sample(logits, [params] * count, [generator] * count, [[]] * count)
    return Counter(tokens)


# Shuffled so the nucleus is not simply the lowest ids: sorted mass 0.5, 0.75, 0.9, 0.97, 1.
PROBS = [0.07, 0.25, 0.03, 0.5, 0.15]


def test_top_p_samples_only_the_nucleus_in_proportion() -> None:
    counts = _draws(PROBS, SamplingParams(temperature=1.0, top_p=0.8, seed=3), 4000)
    assert set(counts) == {3, 1, 4}  # 0.5 + 0.25 < 0.8, so the third token is needed
    assert counts[3] / 4000 == pytest.approx(0.5 / 0.9, abs=0.03)
    assert counts[4] / 4000 == pytest.approx(0.15 / 0.9, abs=0.03)


def test_top_p_edges_and_top_k_with_top_p() -> None:
    assert set(_draws(PROBS, SamplingParams(temperature=1.0, top_p=0.01, seed=4), 500)) == {3}
    everything = _draws(PROBS, SamplingParams(temperature=1.0, seed=5), 4000)
    assert set(everything) == {0, 1, 2, 3, 4}
    # top-k first (0.5, 0.25, renormalised to 2/3, 1/3), then top-p 0.6 keeps just the first.
    both = SamplingParams(temperature=1.0, top_k=2, top_p=0.6, seed=6)
    assert set(_draws(PROBS, both, 500)) == {3}
    assert set(_draws(PROBS, SamplingParams(temperature=1.0, top_k=2, seed=7), 2000)) == {3, 1}


def test_temperature_sharpens_and_a_tiny_one_is_greedy() -> None:
    assert set(_draws(PROBS, SamplingParams(temperature=1e-4, seed=8), 300)) == {3}
    cold = _draws(PROBS, SamplingParams(temperature=0.5, seed=9), 4000)
    # p^2 renormalised: 0.25 / 0.3678 = 0.68 for the top token, against 0.5 at temperature 1.
    assert cold[3] / 4000 == pytest.approx(0.25 / sum(p * p for p in PROBS), abs=0.03)


def _stream(params: SamplingParams, index: int = 0, steps: int = 40) -> list[int]:
    logits = torch.zeros(1, 1000)
    generator = make_generator(params, index)
    return [sample(logits, [params], [generator], [[]])[0][0] for _ in range(steps)]


def test_same_seed_repeats_and_each_candidate_index_has_its_own_stream() -> None:
    params = SamplingParams(temperature=1.0, seed=1234)
    assert _stream(params) == _stream(params)
    assert _stream(params, index=1) == _stream(params, index=1)
    assert _stream(params, index=1) != _stream(params)
    assert _stream(SamplingParams(temperature=1.0, seed=1235)) != _stream(params)


def test_no_seed_means_no_generator_and_fresh_randomness() -> None:
    params = SamplingParams(temperature=1.0)
    assert make_generator(params) is None
    assert _stream(params) != _stream(params)


def test_a_seeded_row_ignores_the_rest_of_the_batch() -> None:
    logits = torch.randn(5, 200, generator=torch.Generator().manual_seed(2))
    seeded = SamplingParams(temperature=0.8, top_p=0.9, seed=42)
    alone, _ = sample(logits[2:3], [seeded], [make_generator(seeded)], [[]])
    others = [
        GREEDY,
        SamplingParams(temperature=1.0),
        seeded,
        GREEDY,
        SamplingParams(temperature=1.0, top_k=3),
    ]
    generators = [None, None, make_generator(seeded), None, None]
    batched, _ = sample(logits, others, generators, [[]] * 5)
    assert batched[2] == alone[0]
    assert batched[0] == logits[0].argmax().item()


def test_logprobs_are_log_softmax_of_the_raw_logits_at_the_chosen_ids() -> None:
    logits = torch.randn(4, 64, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    params = [
        GREEDY,
        SamplingParams(repetition_penalty=1.8),
        SamplingParams(temperature=1.3, top_k=10, seed=1),
        SamplingParams(temperature=0.7, top_p=0.5, repetition_penalty=1.2, seed=2),
    ]
    seen = [[], [int(logits[1].float().argmax())], [], [1, 2, 3]]
    tokens, logprobs = sample(logits, params, [make_generator(p) for p in params], seen)
    expected = torch.log_softmax(logits.float(), dim=-1)
    for row, (token, logprob) in enumerate(zip(tokens, logprobs, strict=True)):
        assert logprob == pytest.approx(expected[row, token].item(), abs=1e-6)
        assert math.isfinite(logprob)
    assert tokens[1] != seen[1][0]  # the penalty moved greedy off the seen top token


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.1}, "top_p"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
        ({"n": 0}, "n must be"),
        ({"n": 17}, "n must be"),
        ({"stop": ("",)}, "non-empty"),
        ({"stop": tuple("abcdefghi")}, "at most 8 stop strings"),
        ({"stop_token_ids": (-1,)}, "stop_token_ids"),
    ],
)
def test_validate_rejects_out_of_range_values(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SamplingParams(**fields).validate()  # type: ignore[arg-type]


def test_validate_accepts_the_edges_and_names_every_problem() -> None:
    SamplingParams().validate()
    SamplingParams(max_tokens=1, temperature=2.0, top_p=1.0, repetition_penalty=0.5).validate()
    SamplingParams(stop=tuple("abcdefgh"), stop_token_ids=(0,), n=16, seed=-3).validate()
    with pytest.raises(ValueError, match=r"max_tokens.*top_p"):
        SamplingParams(max_tokens=0, top_p=2.0).validate()


def test_sample_checks_that_every_row_has_params() -> None:
    with pytest.raises(ValueError, match="2 rows"):
        sample(torch.zeros(2, 5), [GREEDY], [None], [[]])
    with pytest.raises(ValueError, match="seen ids"):
        sample(torch.zeros(1, 5), [SamplingParams(repetition_penalty=1.1)], [None], [[5]])
