"""What grammar-constrained decoding costs: decode ms/token with and without a JSON-schema
constraint, the grammar mask's own ms/token and its share of a decode step, compile times.

The mask is computed on the CPU by llguidance (engine/grammar.py) while the model waits, so its
share is largest where a decode step is cheapest: a small model on a GPU. The issue's goal is a
share under 10%.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any

import torch

from twincore.model_core.backends.core_cache import load_core_model
from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.grammar import GrammarCompiler
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk, EngineConfig, GenerationRequest
from twincore.model_core.quant import QuantMode

PEOPLE_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "people": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 24},
                    "age": {"type": "integer", "minimum": 0, "maximum": 120},
                    "city": {"type": "string", "maxLength": 24},
                    "email": {"type": "string", "format": "email", "maxLength": 32},
                    "hobbies": {
                        "type": "array",
                        "items": {"type": "string", "maxLength": 24},
                        "maxItems": 2,
                    },
                },
                "required": ["name", "age", "city", "email", "hobbies"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["people"],
    "additionalProperties": False,
}
"""A schema whose answer runs to ~100 tokens, with strings, integers, formats and arrays."""
PROMPT = "Describe two fictional people as JSON: name, age, city, email and hobbies."


def measure_grammar(
    model_name: str = "smollm2-135m-instruct",
    *,
    data_dir: Path,
    quantization: QuantMode = "none",
    device: str = "cpu",
    new_tokens: int = 160,
    repeats: int = 3,
    streams: int = 8,
    schema: dict[str, object] | None = None,
) -> dict[str, Any]:
    """Greedy decode of one chat prompt, free and under a JSON-schema constraint.

    Batch 1 (best of `repeats`) and `streams` concurrent copies; mask figures come from the
    engine's own counters (`grammar_mask_ms_per_token`: bitmask on the CPU, copy to the device,
    unpacking). Returns plain numbers, JSON-ready.
    """
    constraint = Constraint.json_schema(schema or PEOPLE_SCHEMA)
    model, tokenizer, _ = load_core_model(model_name, quantization, data_dir=data_dir)
    model = model.to(device)
    prompt = tuple(tokenizer.encode_chat([{"role": "user", "content": PROMPT}]))
    compiler = GrammarCompiler(tokenizer, model.config.vocab_size)
    started = time.perf_counter()
    compiler.llguidance_tokenizer()  # once per engine
    tokenizer_s = time.perf_counter() - started
    started = time.perf_counter()
    compiler.compile(constraint)
    first_compile = time.perf_counter() - started
    started = time.perf_counter()
    compiler.compile(constraint)
    cached_compile = time.perf_counter() - started

    engine = Engine(model, tokenizer, EngineConfig(max_running=max(streams, 1)))
    try:
        free = min(_decode_ms(engine, prompt, new_tokens, None) for _ in range(repeats))
        masked_before = _mask_totals(engine)
        runs = [_decode_ms(engine, prompt, new_tokens, constraint) for _ in range(repeats)]
        mask_ms = _mask_ms_since(engine, masked_before)
        constrained = min(runs)
        free_batch = _batch_ms(engine, prompt, new_tokens, None, streams)
        masked_before = _mask_totals(engine)
        constrained_batch = _batch_ms(engine, prompt, new_tokens, constraint, streams)
        batch_mask_ms = _mask_ms_since(engine, masked_before)
        answer = engine.complete(
            GenerationRequest(prompt, SamplingParams(max_tokens=new_tokens, constraint=constraint))
        )
    finally:
        engine.close()
    return {
        "model": model_name,
        "quantization": quantization,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "new_tokens": new_tokens,
        "llguidance_tokenizer_ms": 1000 * tokenizer_s,
        "compile_ms": 1000 * first_compile,
        "cached_compile_ms": 1000 * cached_compile,
        "decode_ms_per_token": free,
        "constrained_decode_ms_per_token": constrained,
        "mask_ms_per_token": mask_ms,
        "mask_share_of_step": mask_ms / constrained if constrained else 0.0,
        "streams": streams,
        "batch_step_ms": free_batch,
        "constrained_batch_step_ms": constrained_batch,
        "batch_mask_ms_per_step": batch_mask_ms * streams,
        "batch_mask_share_of_step": batch_mask_ms * streams / constrained_batch
        if constrained_batch
        else 0.0,
        "constrained_finish_reason": answer.finish_reasons[0],
        "output_is_json": _is_json(answer.texts[0]),
    }


def _decode_ms(
    engine: Engine, prompt: tuple[int, ...], new_tokens: int, constraint: Constraint | None
) -> float:
    """Batch-1 greedy: ms per token after the first (the prompt's prefill left out)."""
    params = SamplingParams(max_tokens=new_tokens, constraint=constraint, speculative=False)
    stamps = [
        time.perf_counter()
        for chunk in engine.stream(GenerationRequest(prompt, params))
        if chunk.token_ids
    ]
    return 1000 * (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1)


def _batch_ms(
    engine: Engine,
    prompt: tuple[int, ...],
    new_tokens: int,
    constraint: Constraint | None,
    streams: int,
) -> float:
    """`streams` copies decoding together: ms per batched step while all of them decode."""
    params = SamplingParams(max_tokens=new_tokens, constraint=constraint)
    stamps: list[list[float]] = [[] for _ in range(streams)]
    chunks: queue.Queue[Chunk] = queue.Queue()
    with engine._lock:  # all admitted in one step, so the steps decode the whole batch
        ids = [engine.submit(GenerationRequest(prompt, params), chunks.put) for _ in range(streams)]
    done = 0
    while done < streams:
        chunk = chunks.get()
        stamps[ids.index(chunk.request_id)].extend(time.perf_counter() for _ in chunk.token_ids)
        done += chunk.finish_reason is not None
    opened = max(times[0] for times in stamps)
    closed = min(times[-1] for times in stamps)
    inside = sum(opened < t <= closed for times in stamps for t in times)
    return 1000 * (closed - opened) / max(inside / streams, 1)


def _mask_totals(engine: Engine) -> tuple[float, int]:
    stats = engine.stats()
    tokens = stats["grammar_tokens"]
    return stats["grammar_mask_ms_per_token"] * tokens, tokens


def _mask_ms_since(engine: Engine, before: tuple[float, int]) -> float:
    total, tokens = _mask_totals(engine)
    return (total - before[0]) / max(tokens - before[1], 1)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
