"""The measurements `twincore bench engine` is made of: decode rates, stream aggregates, bytes.

Every rate here is a decode rate: tokens after a stream's first token over the time after it, so
prompt processing never dilutes it (time to first token is reported apart). A shared machine
only ever slows a run down, hence best-of-repeats for batch-1 figures.
"""

from __future__ import annotations

import gc
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import EngineConfig, GenerationRequest
from twincore.model_core.model import Transformer
from twincore.model_core.tokenizer import Tokenizer


@dataclass(frozen=True)
class DecodeRun:
    """One batch-1 greedy generation, timed per chunk."""

    tokens_per_s: float
    """Tokens after the first chunk over the time from the first to the last chunk."""
    ttft_s: float
    token_ids: tuple[int, ...]


def memory_bandwidth_gbs(megabytes: int = 256, repeats: int = 5) -> float:
    """Read bandwidth of this machine: the best of several full reductions over a large tensor."""
    data = torch.ones(megabytes * 2**20 // 4)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        data.sum()
        best = min(best, time.perf_counter() - started)
    return data.numel() * 4 / best / 1e9


def decode_run(
    engine: Engine, prompt: list[int], new_tokens: int, *, speculative: bool = True
) -> DecodeRun:
    """Batch-1 greedy decode of `prompt`; a speculative chunk may carry several tokens."""
    params = SamplingParams(max_tokens=new_tokens, speculative=speculative)
    started = time.perf_counter()
    first_at = last_at = 0.0
    first_count = 0
    tokens: list[int] = []
    for chunk in engine.stream(GenerationRequest(tuple(prompt), params)):
        if not chunk.token_ids:
            continue
        last_at = time.perf_counter()
        if not tokens:
            first_at, first_count = last_at, len(chunk.token_ids)
        tokens.extend(chunk.token_ids)
    decoded = len(tokens) - first_count
    rate = decoded / (last_at - first_at) if decoded > 0 and last_at > first_at else 0.0
    return DecodeRun(rate, first_at - started, tuple(tokens))


def best_decode_run(
    engine: Engine, prompt: list[int], new_tokens: int, repeats: int, *, speculative: bool = True
) -> DecodeRun:
    """The fastest of `repeats` runs, with the shortest time to first token among them."""
    runs = [decode_run(engine, prompt, new_tokens, speculative=speculative) for _ in range(repeats)]
    best = max(runs, key=lambda run: run.tokens_per_s)
    return DecodeRun(best.tokens_per_s, min(run.ttft_s for run in runs), best.token_ids)


def stream_rates(engine: Engine, prompts: list[list[int]], new_tokens: int) -> tuple[float, float]:
    """Concurrent streams, one per prompt: (steady, wall) aggregate tokens/s.

    Steady counts the tokens produced while every stream was decoding (from the last stream's
    first token to the first stream's last token); wall divides every token by the whole time,
    prompts included. A window too short to hold a token falls back to wall.
    """
    stamps: list[list[float]] = [[] for _ in prompts]  # one time per token, per stream

    def run(i: int) -> None:
        request = GenerationRequest(tuple(prompts[i]), SamplingParams(max_tokens=new_tokens))
        for chunk in engine.stream(request):
            now = time.perf_counter()
            stamps[i].extend(now for _ in chunk.token_ids)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = list(itertools.chain.from_iterable(stamps))
    if not every:
        return 0.0, 0.0
    wall = len(every) / (max(every) - started)
    opened = max(times[0] for times in stamps if times)
    closed = min(times[-1] for times in stamps if times)
    inside = sum(opened < t <= closed for t in every)
    steady = inside / (closed - opened) if closed > opened and inside else wall
    return steady, wall


def dialogue_prefill(
    model: Transformer, tokenizer: Tokenizer | None, turns: int, cache: bool
) -> int:
    """Prompt tokens computed over a multi-turn dialogue, re-sent whole each turn."""
    engine = Engine(model, tokenizer, EngineConfig(prefix_cache=cache))
    try:
        history: list[int] = []
        for turn in range(turns):
            message = [3 + (turn * 7 + i) % 200 for i in range(24)]  # a 24-token user message
            history = history + message
            reply = engine.complete(
                GenerationRequest(tuple(history), SamplingParams(max_tokens=16))
            )
            history = history + reply.token_ids[0]
        return int(engine.stats()["prefilled_tokens"])
    finally:
        engine.close()


def decode_bytes_per_token(model: Transformer) -> int:
    """Weight bytes one batch-1 decode token reads, each tensor once, the KV cache not counted.

    Every tensor of the decoder layers, final norm and output head; routed experts by their
    share K/E (a token visits K of E); one row of the embedding table; MTP modules and rotary
    tables not at all. A tied, unquantized head reads the whole embedding matrix once.
    """
    config = model.config
    expert_share = config.num_experts_per_tok / config.n_routed_experts if config.is_moe else 1.0
    embedding = model.model.embed_tokens
    seen: set[int] = set()
    total = float(embedding.weight.shape[1] * embedding.weight.element_size())
    for name, module in model.named_modules():
        if name.startswith("mtp") or name == "rotary" or module is embedding:
            continue
        share = expert_share if ".experts." in f".{name}." else 1.0
        own = itertools.chain(module.parameters(recurse=False), module.buffers(recurse=False))
        for tensor in own:
            if tensor.data_ptr() in seen:
                continue
            seen.add(tensor.data_ptr())
            total += tensor.numel() * tensor.element_size() * share
    return int(total)


def hf_rate(load_hf: Callable[[], Any], prompt: list[int], new_tokens: int, repeats: int) -> float:
    """HF transformers generate(): decode tokens/s after the first token, timed per token."""
    from transformers.generation.streamers import BaseStreamer

    class Clock(BaseStreamer):
        def __init__(self) -> None:
            self.times: list[float] = []

        def put(self, value: Any) -> None:  # first call: the prompt; then one per new token
            self.times.append(time.perf_counter())

        def end(self) -> None:
            pass

    model = load_hf()
    ids = torch.tensor([prompt])
    mask = torch.ones_like(ids)
    rates = []
    with torch.inference_mode():
        model.generate(ids, attention_mask=mask, max_new_tokens=2, do_sample=False)  # warm up
        for _ in range(repeats):
            clock = Clock()
            model.generate(
                ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                do_sample=False, streamer=clock,
            )  # fmt: skip
            decoded = clock.times[1:]  # generated tokens
            rates.append((len(decoded) - 1) / (decoded[-1] - decoded[0]))
    del model
    gc.collect()
    return max(rates)
