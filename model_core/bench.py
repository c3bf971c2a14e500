"""`twincore bench engine`: our engine against HF transformers (and llama.cpp when installed),
measured in one process and one run, as ratios that mean something on any machine.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from twincore.model_core.config import load_preset, to_hf_config
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import EngineConfig, GenerationRequest
from twincore.model_core.info import count_parameters
from twincore.model_core.loader import load_model
from twincore.model_core.model import Transformer
from twincore.model_core.quant import quantize_model, weight_bytes
from twincore.model_core.sources import resolve_source
from twincore.model_core.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

DEFAULT_BENCH_MODELS = ("smollm2-135m-instruct", "qwen2.5-coder-1.5b-instruct", "deep-tiny")
PROMPT = "Explain in a few sentences why the sky is blue, then give one example."


@dataclass(frozen=True)
class BenchSettings:
    """How much work each measurement does."""

    new_tokens: int = 32
    streams: tuple[int, ...] = (1, 4, 8, 16)
    dialogue_turns: int = 10
    quantized_modes: tuple[str, ...] = ("int8", "int4")
    repeats: int = 3
    """Batch-1 rates are the best of this many runs: a shared machine only ever slows a run down."""


def memory_bandwidth_gbs(megabytes: int = 256, repeats: int = 5) -> float:
    """Read bandwidth of this machine: the best of several full reductions over a large tensor."""
    data = torch.ones(megabytes * 2**20 // 4)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        data.sum()
        best = min(best, time.perf_counter() - started)
    return data.numel() * 4 / best / 1e9


def _best_decode_rate(
    engine: Engine, prompt: list[int], new_tokens: int, repeats: int
) -> tuple[float, float]:
    """The best batch-1 decode rate and time to first token over `repeats` runs."""
    runs = [_decode_rate(engine, prompt, new_tokens) for _ in range(repeats)]
    return max(r[0] for r in runs), min(r[1] for r in runs)


def _decode_rate(engine: Engine, prompt: list[int], new_tokens: int) -> tuple[float, float]:
    """Batch-1 decode tokens/s after the first token, and the time to the first token."""
    params = SamplingParams(max_tokens=new_tokens, stop_token_ids=())
    started = time.perf_counter()
    first_at, count = 0.0, 0
    for chunk in engine.stream(GenerationRequest(tuple(prompt), params)):
        if chunk.token_ids and count == 0:
            first_at = time.perf_counter()
        count += len(chunk.token_ids)
    elapsed = time.perf_counter() - first_at
    return (count - 1) / elapsed if count > 1 else 0.0, first_at - started


def _aggregate_rate(engine: Engine, prompts: list[list[int]], new_tokens: int) -> float:
    """Tokens/s summed over concurrent streams, first to last token."""
    counts = [0] * len(prompts)

    def run(i: int) -> None:
        request = GenerationRequest(tuple(prompts[i]), SamplingParams(max_tokens=new_tokens))
        counts[i] = sum(len(c.token_ids) for c in engine.stream(request))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def _dialogue_prefill(
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


def _hf_rate(load_hf: Callable[[], Any], prompt: list[int], new_tokens: int, repeats: int) -> float:
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


def _llamacpp_rate(gguf: Path | None, prompt: list[int], new_tokens: int) -> float | None:
    if gguf is None or importlib.util.find_spec("llama_cpp") is None:
        return None
    import llama_cpp  # type: ignore[import-not-found]  # optional: compiles for minutes

    llm = llama_cpp.Llama(model_path=str(gguf), n_threads=torch.get_num_threads(), verbose=False)
    started = time.perf_counter()
    out = llm(llm.detokenize(prompt).decode(errors="ignore"), max_tokens=new_tokens, temperature=0)
    return float(out["usage"]["completion_tokens"]) / (time.perf_counter() - started)


def _load(
    name: str, data_dir: Path
) -> tuple[Transformer, Tokenizer | None, Callable[[], Any], Path | None]:
    """Our model, its tokenizer, a loader of the same weights into HF, and the GGUF if any."""
    from transformers import AutoModelForCausalLM, DeepseekV3Config, DeepseekV3ForCausalLM

    source = resolve_source(name, data_dir=data_dir)
    if source.path is None:  # a preset: random weights, exported to HF through save_pretrained
        folder = Path(tempfile.mkdtemp(prefix="twincore-bench-"))
        settings = {k: v for k, v in to_hf_config(load_preset(name)).items() if k != "model_type"}
        hf = DeepseekV3ForCausalLM(DeepseekV3Config(**settings))
        hf.save_pretrained(folder)
        return load_model(folder), None, lambda: DeepseekV3ForCausalLM.from_pretrained(folder), None
    path = source.path
    tokenizer = Tokenizer.from_gguf(path) if path.suffix == ".gguf" else Tokenizer.from_dir(path)

    def load_hf() -> Any:
        if path.suffix == ".gguf":
            return AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)

    return load_model(path), tokenizer, load_hf, path if path.suffix == ".gguf" else None


def bench_model(
    name: str, *, data_dir: Path, settings: BenchSettings, bandwidth_gbs: float
) -> dict[str, Any]:
    """Every figure for one model; see the module docstring of the CLI for their meaning."""
    model, tokenizer, load_hf, gguf = _load(name, data_dir)
    if tokenizer is not None:
        prompt = tokenizer.encode_chat([{"role": "user", "content": PROMPT}])
    else:
        prompt = [(7 * i) % (model.config.vocab_size - 2) + 2 for i in range(24)]
    report: dict[str, Any] = {"model": name}
    report["hf_tokens_per_s"] = _hf_rate(load_hf, prompt, settings.new_tokens, settings.repeats)

    fp32_bytes = weight_bytes(model)
    active = count_parameters(model.config)["active_params"]
    engine = Engine(model, tokenizer)
    rate, ttft = _best_decode_rate(engine, prompt, settings.new_tokens, settings.repeats)
    engine.close()
    report.update(engine_tokens_per_s=rate, ttft_s=ttft, weight_bytes_fp32=fp32_bytes)
    report["batch1_speedup_vs_hf"] = rate / report["hf_tokens_per_s"]
    report["bandwidth_fraction"] = rate * active * 4 / (bandwidth_gbs * 1e9)

    reduction_off = _dialogue_prefill(model, tokenizer, settings.dialogue_turns, cache=False)
    reduction_on = _dialogue_prefill(model, tokenizer, settings.dialogue_turns, cache=True)
    report["prefix_cache_prefill_tokens"] = {"without": reduction_off, "with": reduction_on}
    report["prefix_cache_prefill_reduction"] = reduction_off / max(reduction_on, 1)
    del model, engine
    gc.collect()

    best_mode, best_rate = "fp32", rate
    for mode in settings.quantized_modes:
        quantized, _, _, _ = _load(name, data_dir)
        quant_report = quantize_model(quantized, mode)  # type: ignore[arg-type]
        engine = Engine(quantized, tokenizer)
        mode_rate, _ = _best_decode_rate(engine, prompt, settings.new_tokens, settings.repeats)
        engine.close()
        report[f"{mode}_tokens_per_s"] = mode_rate
        report[f"{mode}_weight_bytes"] = weight_bytes(quantized)
        report[f"{mode}_weight_memory_ratio"] = weight_bytes(quantized) / fp32_bytes
        logger.info("%s %s: %s", name, mode, quant_report)
        if mode_rate > best_rate:
            best_mode, best_rate = mode, mode_rate
        del quantized
        gc.collect()

    serving, _, _, _ = _load(name, data_dir)
    if best_mode != "fp32":
        quantize_model(serving, best_mode)  # type: ignore[arg-type]
    engine = Engine(serving, tokenizer, EngineConfig(max_running=max(settings.streams)))
    streams = {}
    for count in settings.streams:
        prompts = [prompt[: len(prompt) - i % 3] for i in range(count)]
        streams[str(count)] = _aggregate_rate(engine, prompts, settings.new_tokens)
    engine.close()
    report["streams_mode"] = best_mode
    report["streams_tokens_per_s"] = streams
    last = str(max(settings.streams))
    report["stream16_tokens_per_s"] = streams.get(last)
    report["stream16_vs_stream1"] = streams[last] / streams["1"] if streams.get("1") else None
    report["llamacpp_tokens_per_s"] = _llamacpp_rate(gguf, prompt, settings.new_tokens)
    report["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return report


def bench_engine(
    models: list[str], *, data_dir: Path, settings: BenchSettings | None = None
) -> dict[str, Any]:
    """The whole benchmark: machine facts, then one report per model."""
    settings = settings or BenchSettings()
    bandwidth = memory_bandwidth_gbs()
    return {
        "machine": {"threads": torch.get_num_threads(), "read_bandwidth_gbs": bandwidth},
        "settings": {"new_tokens": settings.new_tokens, "streams": list(settings.streams)},
        "models": {
            name: bench_model(name, data_dir=data_dir, settings=settings, bandwidth_gbs=bandwidth)
            for name in models
        },
    }
