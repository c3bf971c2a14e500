"""The engine on the tiny MLA+MoE presets: same tokens as the plain loop, however requests batch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import torch

from twincore.model_core.config import load_preset
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import (
    EngineConfig,
    GenerationRequest,
    QueueFullError,
    RequestTooLargeError,
)
from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import init_random
from twincore.model_core.model import Transformer


def _model(name: str) -> Transformer:
    model = init_random(load_preset(name), seed=3)
    with torch.no_grad():  # sharper than the 0.02 init, so greedy choices are far from ties
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(3.0)
    return model


@pytest.fixture(params=["deep-tiny", "swift-tiny"])
def model(request: pytest.FixtureRequest) -> Transformer:
    return _model(request.param)


def _prompts(count: int, seed: int = 0) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 40, (count,), generator=generator).tolist()
    return [torch.randint(2, 512, (n,), generator=generator).tolist() for n in lengths]


def _greedy(max_tokens: int) -> SamplingParams:
    return SamplingParams(max_tokens=max_tokens)


@pytest.fixture
def engine(model: Transformer) -> Iterator[Engine]:
    engine = Engine(model, None, EngineConfig(block_size=8, num_blocks=256, max_batch_tokens=16))
    yield engine
    engine.close()


def test_single_request_equals_plain_greedy_loop(model: Transformer, engine: Engine) -> None:
    prompt = _prompts(1)[0]
    expected = greedy_generate(model, prompt, 20)
    completion = engine.complete(GenerationRequest(tuple(prompt), _greedy(20)))
    assert completion.token_ids[0] == expected
    assert completion.finish_reasons == ["length"]
    assert completion.usage.prompt_tokens == len(prompt)
    assert completion.usage.completion_tokens == 20


def test_sixteen_staggered_requests_equal_plain_loops(model: Transformer, engine: Engine) -> None:
    prompts = _prompts(16, seed=1)
    expected = [greedy_generate(model, p, 12) for p in prompts]
    results: dict[int, list[int]] = {}

    def run(i: int) -> None:
        results[i] = engine.complete(GenerationRequest(tuple(prompts[i]), _greedy(12))).token_ids[0]

    threads = []
    for i in range(16):  # later requests join while earlier ones decode
        thread = threading.Thread(target=run, args=(i,))
        thread.start()
        threads.append(thread)
        if i % 4 == 3:
            threads[-2].join()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(16)] == expected
    assert engine.stats()["blocks_used"] == 0


def test_prefix_cache_hot_gives_same_tokens_and_skips_prefill(
    model: Transformer, engine: Engine
) -> None:
    prompt = _prompts(1, seed=2)[0] * 2  # long enough for several full blocks
    first = engine.complete(GenerationRequest(tuple(prompt), _greedy(10)))
    prefilled = engine.stats()["prefilled_tokens"]
    second = engine.complete(GenerationRequest(tuple(prompt), _greedy(10)))
    assert second.token_ids == first.token_ids == [greedy_generate(model, prompt, 10)]
    assert second.usage.cached_prompt_tokens == (len(prompt) - 1) // 8 * 8
    assert (
        engine.stats()["prefilled_tokens"] - prefilled
        == len(prompt) - second.usage.cached_prompt_tokens
    )


def test_conversation_resent_with_one_more_turn_prefills_only_the_new_part(
    engine: Engine,
) -> None:
    history = _prompts(1, seed=4)[0]
    first = engine.complete(GenerationRequest(tuple(history), _greedy(16)))
    follow_up = history + first.token_ids[0] + [5, 6, 7, 8, 9]
    before = engine.stats()["prefilled_tokens"]
    engine.complete(GenerationRequest(tuple(follow_up), _greedy(4)))
    computed = engine.stats()["prefilled_tokens"] - before
    assert computed <= 5 + 8  # the new message plus at most one partly filled block


def test_cancelling_a_stream_frees_its_blocks(engine: Engine) -> None:
    start = engine.pool.available
    stream = engine.stream(GenerationRequest(tuple(_prompts(1)[0]), _greedy(200)))
    next(stream)
    stream.close()  # the consumer goes away: the engine cancels the request
    for _ in range(200):
        if engine.stats()["blocks_used"] == 0 and engine.stats()["running"] == 0:
            break
        threading.Event().wait(0.01)
    assert engine.stats()["blocks_used"] == 0
    assert engine.pool.available == start


def test_async_generate_streams_and_reports_usage(engine: Engine) -> None:
    prompt = _prompts(1, seed=5)[0]

    async def collect() -> list[object]:
        return [c async for c in engine.generate(GenerationRequest(tuple(prompt), _greedy(6)))]

    chunks = asyncio.run(collect())
    assert sum(len(c.token_ids) for c in chunks) == 6  # type: ignore[attr-defined]
    assert chunks[-1].finish_reason == "length"  # type: ignore[attr-defined]
    assert chunks[-1].usage is not None  # type: ignore[attr-defined]


def test_full_queue_is_refused_with_the_documented_error(model: Transformer) -> None:
    engine = Engine(model, None, EngineConfig(block_size=8, num_blocks=64, max_waiting=2))
    try:
        gate = threading.Event()
        blocked = GenerationRequest((1, 2, 3), _greedy(200))
        engine.submit(blocked, lambda _c: gate.wait(5))  # the worker stalls on this sink
        for _ in range(500):  # until the worker has taken it: the queue is then empty
            if engine.stats()["running"] == 1:
                break
            threading.Event().wait(0.01)
        engine.submit(GenerationRequest((1, 2, 3), _greedy(2)), lambda _c: None)
        engine.submit(GenerationRequest((1, 2, 3), _greedy(2)), lambda _c: None)
        with pytest.raises(QueueFullError, match="waiting queue is full"):
            for _ in range(3):
                engine.submit(GenerationRequest((1, 2, 3), _greedy(2)), lambda _c: None)
        gate.set()
    finally:
        engine.close()


def test_requests_that_cannot_fit_are_refused(engine: Engine) -> None:
    with pytest.raises(RequestTooLargeError, match="context"):
        engine.submit(GenerationRequest((1,) * 1000, _greedy(100)), lambda _c: None)
    with pytest.raises(RequestTooLargeError, match="empty"):
        engine.submit(GenerationRequest((), _greedy(1)), lambda _c: None)


def test_n_candidates_share_the_prompt_and_sample_independently(engine: Engine) -> None:
    params = SamplingParams(max_tokens=8, temperature=1.0, seed=7, n=3)
    prompt = tuple(_prompts(1, seed=6)[0])
    completion = engine.complete(GenerationRequest(prompt, params))
    again = engine.complete(GenerationRequest(prompt, params))
    assert len(completion.token_ids) == 3
    assert completion.token_ids == again.token_ids  # seeded: reproducible
    assert len({tuple(t) for t in completion.token_ids}) > 1
    assert completion.usage.completion_tokens == 24
    assert engine.stats()["blocks_used"] == 0


def test_deadline_ends_a_request(model: Transformer) -> None:
    engine = Engine(model, None, EngineConfig(block_size=8, num_blocks=128))
    try:
        request = GenerationRequest((1, 2, 3), _greedy(900), deadline_s=0.05)
        completion = engine.complete(request)
        assert completion.finish_reasons == ["deadline"]
        assert engine.stats()["blocks_used"] == 0
    finally:
        engine.close()


def test_preempted_sequences_resume_with_the_same_tokens(model: Transformer) -> None:
    # 12 blocks of 8 tokens cannot hold four 20-token prompts growing by 24 tokens each at once:
    # the newest sequences are preempted, recomputed later, and still match the plain loop.
    engine = Engine(model, None, EngineConfig(block_size=8, num_blocks=12, max_batch_tokens=16))
    prompts = [p[:20] + [7] * max(0, 20 - len(p)) for p in _prompts(4, seed=8)]
    expected = [greedy_generate(model, p, 24) for p in prompts]
    results: dict[int, list[int]] = {}

    def run(i: int) -> None:
        results[i] = engine.complete(GenerationRequest(tuple(prompts[i]), _greedy(24))).token_ids[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [results[i] for i in range(4)] == expected
        assert engine.stats()["preemptions"] > 0
        assert engine.stats()["blocks_used"] == 0
    finally:
        engine.close()


def test_every_candidate_gets_a_final_chunk_when_a_request_ends_early(model: Transformer) -> None:
    engine = Engine(model, None, EngineConfig(block_size=8, num_blocks=128))
    try:
        params = SamplingParams(max_tokens=900, temperature=0.8, seed=1, n=3)
        completion = engine.complete(GenerationRequest((1, 2, 3), params, deadline_s=0.05))
        assert completion.finish_reasons == ["deadline"] * 3
        assert engine.stats()["blocks_used"] == 0
    finally:
        engine.close()
