"""`twincore bench engine`: our engine beside llama.cpp (and, on request, HF transformers and our
own fp32 path), measured in one run, as ratios that mean something on any machine.

Per model, the default run measures:
- llama.cpp batch-1 greedy decode on the same GGUF, same threads and prompt tokens, in its own
  process (bench_peers; null with a note when `make bench-peers` has not been run);
- our engine at each quantized mode (int8, int4) from the cached converted weights
  (`core_cache.load_core_model`): batch-1 decode (best of repeats) and concurrent streams;
- speculative decoding where the model has a draft (deep: Qwen2.5-Coder-1.5B drafted by the
  0.5B swift model), at each quantized mode: decode rate, acceptance, identical greedy output;
- prefix-cache savings over a multi-turn dialogue, decode ops per token, weight bytes read per
  token (hence the share of the machine's read bandwidth), and peak RSS of a first (converting)
  and a cached load.
All rates are decode rates after the first token (bench_measure); `settings.hf` and
`settings.fp32` add the slow float references.
"""

from __future__ import annotations

import gc
import logging
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from twincore.model_core import bench_measure as measure
from twincore.model_core.backends.core_cache import load_core_model
from twincore.model_core.bench_peers import llamacpp_rates
from twincore.model_core.bench_summary import summarize
from twincore.model_core.config import load_preset, to_hf_config
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.types import EngineConfig
from twincore.model_core.loader import init_random
from twincore.model_core.model import Transformer
from twincore.model_core.quant import QuantMode, quantize_model, weight_bytes
from twincore.model_core.sources import ModelSource, resolve_source, source_config
from twincore.model_core.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

DEFAULT_BENCH_MODELS = ("qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct", "deep-tiny")
SPEC_DRAFTS = {"qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-0.5b-instruct"}
"""Target model -> the model that drafts for it in the speculative measurement."""
PROMPT = (
    "Write a Python module with a binary search tree class: insert, delete, search and an "
    "in-order iterator, each with type hints and a docstring."
)
"""A code prompt: the answer is long, and code is what speculative decoding is judged on."""


@dataclass(frozen=True)
class BenchSettings:
    """How much work each measurement does, and which optional parts run."""

    new_tokens: int = 64
    streams: tuple[int, ...] = (1, 8)
    dialogue_turns: int = 10
    quantized_modes: tuple[QuantMode, ...] = ("int8", "int4")
    repeats: int = 3
    """Batch-1 rates are the best of this many runs: a shared machine only ever slows a run down."""
    hf: bool = False
    """Also measure HF transformers in fp32 (loads the float model: minutes for the 1.5B)."""
    fp32: bool = False
    """Also measure our engine on float32 weights."""
    speculative: bool = True
    load_memory: bool = True
    """Peak RSS of a first and a cached load (subprocesses; the first one converts the GGUF)."""


@dataclass
class _Subject:
    """One model under test: where it comes from, its tokenizer and the prompt it gets."""

    name: str
    source: ModelSource
    tokenizer: Tokenizer | None
    prompt: list[int]

    def load(self, mode: QuantMode, data_dir: Path) -> Transformer:
        """Real weights from the core cache; a preset's random ones (MTP included), seed 0."""
        if self.source.path is not None:
            return load_core_model(self.name, mode, data_dir=data_dir)[0]
        model = init_random(load_preset(self.name), seed=0)
        if mode != "none":
            quantize_model(model, mode)
        return model


def bench_engine(
    models: list[str], *, data_dir: Path, settings: BenchSettings | None = None
) -> dict[str, Any]:
    """The whole benchmark: machine facts, then one report per model."""
    settings = settings or BenchSettings()
    bandwidth = measure.memory_bandwidth_gbs()
    return {
        "machine": {"threads": torch.get_num_threads(), "read_bandwidth_gbs": bandwidth},
        "settings": {
            "new_tokens": settings.new_tokens,
            "streams": list(settings.streams),
            "repeats": settings.repeats,
            "quantized_modes": list(settings.quantized_modes),
            "hf": settings.hf,
            "fp32": settings.fp32,
            "prompt": PROMPT,
        },
        "models": {
            name: bench_model(name, data_dir=data_dir, settings=settings, bandwidth_gbs=bandwidth)
            for name in models
        },
    }


def bench_model(
    name: str, *, data_dir: Path, settings: BenchSettings, bandwidth_gbs: float
) -> dict[str, Any]:
    """Every figure for one model (see the module docstring); `notes` says why one is null."""
    subject = _subject(name, data_dir)
    report: dict[str, Any] = {"model": name, "source": subject.source.kind, "notes": []}
    _llamacpp(subject, settings, report)
    for mode in settings.quantized_modes:
        _quantized(subject, mode, data_dir, settings, report)
    if settings.fp32:
        _fp32(subject, data_dir, settings, report)
    _hf(subject, settings, report)
    config = source_config(subject.source)
    summarize(
        report, config=config, modes=list(settings.quantized_modes), bandwidth_gbs=bandwidth_gbs
    )
    _load_memory(subject, data_dir, settings, report)
    report["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return report


def _subject(name: str, data_dir: Path) -> _Subject:
    source = resolve_source(name, data_dir=data_dir)
    if source.path is None:  # a preset: random weights and a fixed 24-token prompt
        vocab = load_preset(name).vocab_size
        return _Subject(name, source, None, [(7 * i) % (vocab - 2) + 2 for i in range(24)])
    path = source.path
    tokenizer = Tokenizer.from_gguf(path) if path.suffix == ".gguf" else Tokenizer.from_dir(path)
    prompt = tokenizer.encode_chat([{"role": "user", "content": PROMPT}])
    return _Subject(name, source, tokenizer, prompt)


def _llamacpp(subject: _Subject, settings: BenchSettings, report: dict[str, Any]) -> None:
    path = subject.source.path
    gguf = path if path is not None and path.suffix == ".gguf" else None
    result = llamacpp_rates(
        gguf, prompt=subject.prompt, threads=torch.get_num_threads(),
        new_tokens=settings.new_tokens, repeats=settings.repeats,
    )  # fmt: skip
    figures = result.figures or {}
    report["llamacpp_tokens_per_s"] = figures.get("decode_tokens_per_s")
    report["llamacpp_ttft_s"] = figures.get("ttft_s")
    report["llamacpp_prefill_tokens_per_s"] = figures.get("prefill_tokens_per_s")
    report["llamacpp_version"] = figures.get("version")
    report["_llamacpp_greedy"] = figures.get("greedy_tokens")
    if result.reason:
        report["notes"].append(f"llamacpp: {result.reason}")


def _quantized(
    subject: _Subject, mode: QuantMode, data_dir: Path, settings: BenchSettings,
    report: dict[str, Any],
) -> None:  # fmt: skip
    """Batch-1, streams and (first mode only) the per-model facts, at one quantized mode."""
    model = subject.load(mode, data_dir)
    engine = Engine(model, subject.tokenizer, EngineConfig(max_running=max(settings.streams)))
    try:
        run = measure.best_decode_run(
            engine, subject.prompt, settings.new_tokens, settings.repeats, speculative=False
        )
        streams = {}
        for count in settings.streams:
            prompts = [subject.prompt[: len(subject.prompt) - i % 3] for i in range(count)]
            streams[count] = measure.stream_rates(engine, prompts, settings.new_tokens)
    finally:
        engine.close()
    report[f"{mode}_tokens_per_s"] = run.tokens_per_s
    report[f"{mode}_ttft_s"] = run.ttft_s
    report[f"{mode}_weight_bytes"] = weight_bytes(model)
    report[f"{mode}_bytes_per_token"] = measure.decode_bytes_per_token(model)
    report[f"_{mode}_greedy"] = list(run.token_ids)
    report[f"_{mode}_streams"] = streams
    if mode == settings.quantized_modes[0]:
        report["ops_per_token"] = _ops_per_token(model, report)
        report["ops_mode"] = mode
        without = measure.dialogue_prefill(model, subject.tokenizer, settings.dialogue_turns, False)
        with_cache = measure.dialogue_prefill(
            model, subject.tokenizer, settings.dialogue_turns, True
        )
        report["prefix_cache_prefill_tokens"] = {"without": without, "with": with_cache}
        report["prefix_cache_prefill_reduction"] = without / max(with_cache, 1)
    if settings.speculative:
        _speculative(subject, mode, model, run, data_dir, settings, report)
    del model, engine
    gc.collect()


def _speculative(
    subject: _Subject, mode: QuantMode, target: Transformer, plain: measure.DecodeRun,
    data_dir: Path, settings: BenchSettings, report: dict[str, Any],
) -> None:  # fmt: skip
    """Batch-1 greedy with a drafter: rate, acceptance, and the same output as plain decoding.

    The draft is the model SPEC_DRAFTS names (deep: swift) at the same mode, else the target's
    own MTP module when it has one; a model with neither is not measured.
    """
    from twincore.model_core.engine.speculative import Drafter, ModelDrafter, MTPDrafter

    draft_name = SPEC_DRAFTS.get(subject.name)
    drafter: Drafter
    if draft_name is not None:
        draft = load_core_model(draft_name, mode, data_dir=data_dir)[0]
        drafter = ModelDrafter(draft, target_vocab=target.config.vocab_size)
    elif target.config.num_mtp_layers > 0:
        draft_name, drafter = "mtp", MTPDrafter(target)
    else:
        return
    engine = Engine(target, subject.tokenizer, EngineConfig(), draft=drafter)
    try:
        run = measure.best_decode_run(engine, subject.prompt, settings.new_tokens, settings.repeats)
        stats = engine.stats()
    finally:
        engine.close()
    report[f"_{mode}_spec"] = {
        "tokens_per_s": run.tokens_per_s,
        "acceptance": stats["spec_acceptance"],
        "tokens_per_verify": stats["spec_tokens_per_verify"],
        "matches_plain_greedy": run.token_ids == plain.token_ids,
        "draft": draft_name,
    }
    del drafter, engine
    gc.collect()


def _ops_per_token(model: Transformer, report: dict[str, Any]) -> int | None:
    try:
        from twincore.model_core.opcount import ops_per_token
    except ImportError as error:
        report["notes"].append(f"ops_per_token: twincore.model_core.opcount is missing ({error})")
        return None
    return ops_per_token(model, context=64)


def _fp32(
    subject: _Subject, data_dir: Path, settings: BenchSettings, report: dict[str, Any]
) -> None:
    model = subject.load("none", data_dir)
    engine = Engine(model, subject.tokenizer)
    try:
        run = measure.best_decode_run(
            engine, subject.prompt, settings.new_tokens, settings.repeats, speculative=False
        )
    finally:
        engine.close()
    report["engine_tokens_per_s"] = run.tokens_per_s
    report["ttft_s"] = run.ttft_s
    del model, engine
    gc.collect()


def _hf(subject: _Subject, settings: BenchSettings, report: dict[str, Any]) -> None:
    report["hf_tokens_per_s"] = None
    if not settings.hf:
        return
    from transformers import AutoModelForCausalLM, DeepseekV3Config, DeepseekV3ForCausalLM

    path = subject.source.path

    def load_hf() -> Any:
        if path is None:  # random weights of HF's own init: speed does not depend on them
            hf = to_hf_config(load_preset(subject.name))
            settings = {k: v for k, v in hf.items() if k != "model_type"}
            return DeepseekV3ForCausalLM(DeepseekV3Config(**settings))
        if path.suffix == ".gguf":
            return AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)

    report["hf_tokens_per_s"] = measure.hf_rate(
        load_hf, subject.prompt, settings.new_tokens, settings.repeats
    )


def _load_memory(
    subject: _Subject, data_dir: Path, settings: BenchSettings, report: dict[str, Any]
) -> None:
    report["first_load_peak_rss_mb"] = report["load_peak_rss_mb"] = None
    if not settings.load_memory:
        return
    if subject.source.path is None:
        report["notes"].append("load memory: a preset has no weights to convert or cache")
        return
    try:
        from twincore.model_core.load_memory import measure_load_rss
    except ImportError as error:
        report["notes"].append(f"load memory: twincore.model_core.load_memory is missing ({error})")
        return
    mode = settings.quantized_modes[0]
    memory = measure_load_rss(subject.name, mode, data_dir=data_dir)
    report["first_load_peak_rss_mb"] = memory["first_load_peak_rss_mb"]
    report["load_peak_rss_mb"] = memory["load_peak_rss_mb"]
    report["load_memory_mode"] = mode
