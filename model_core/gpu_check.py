"""One short GPU benchmark of the engine: a Moonlight-shaped model, random weights, bf16.

Run by tools/gpu_check.sh on a lent GPU machine (no network; minutes of device time), or here
with `--device cpu --tiny` as a dry run of the same path. The model has Moonlight-16B-A3B's
widths, heads, experts and routing (model_core/configs/moonlight-16b-a3b.json) with its layers
cut to `--layers` (default 8: about 4.7 B parameters, 9.4 GB in bf16), so it builds in seconds
and the whole check stays well under five minutes. Weights are drawn on the device itself.

Measured through our engine, best of `--repeats`: prefill tokens/s (one prompt of
`--prompt-tokens`), batch-1 decode tokens/s after the first token, the steady aggregate of
`--streams` concurrent streams, and peak device memory. One JSON object goes to stdout and, when
$OUT is set, to $OUT/gpu_check.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from twincore.model_core.bench_measure import best_decode_run, stream_rates
from twincore.model_core.config import ModelConfig, load_preset
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.types import EngineConfig
from twincore.model_core.info import count_parameters
from twincore.model_core.model import Gate, Transformer

logger = logging.getLogger(__name__)

PRESET = "moonlight-16b-a3b"
FLOAT32_BUFFERS = ("e_score_correction_bias",)
"""Kept float32 whatever the activation dtype, as the loader keeps them."""


class NoCudaError(RuntimeError):
    """The check asked for CUDA and this torch cannot reach a CUDA device."""


def check_config(*, layers: int, tiny: bool) -> ModelConfig:
    """Moonlight's shapes with `layers` layers; `tiny` shrinks every width for a CPU dry run."""
    config = dataclasses.replace(load_preset(PRESET), num_layers=layers)
    if not tiny:
        return config
    return dataclasses.replace(
        config, vocab_size=512, hidden_size=64, intermediate_size=128, num_heads=4,
        kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
        n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
        bos_token_id=0, eos_token_id=1,
    )  # fmt: skip


def random_model(
    config: ModelConfig, *, dtype: torch.dtype, device: torch.device, seed: int = 0
) -> Transformer:
    """N(0, 0.02) weights drawn on `device` in `dtype` (no host copy), unit norms, float32
    routers."""
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.device("meta"):
        model = Transformer(config)
    tied = config.tie_word_embeddings
    state: dict[str, torch.Tensor] = {}
    for name, meta in model.state_dict().items():
        if tied and name == "lm_head.weight":
            continue
        wanted = torch.float32 if name.endswith(FLOAT32_BUFFERS) else dtype
        tensor = torch.empty(meta.shape, dtype=wanted, device=device)
        if name.endswith("norm.weight"):
            tensor.fill_(1.0)
        elif name.endswith(FLOAT32_BUFFERS):
            tensor.normal_(0.0, 1e-3, generator=generator)
        else:
            tensor.normal_(0.0, 0.02, generator=generator)
        state[name] = tensor
    model.load_state_dict(state, strict=not tied, assign=True)
    if tied:
        model.lm_head.weight = model.model.embed_tokens.weight
    for module in model.modules():
        if isinstance(module, Gate):
            module.float()  # routers stay float32, as `backends.devices.place` keeps them
    return model.to(device).eval()  # moves the rotary table, built on the CPU


def run_check(
    *, device: str, tiny: bool, layers: int, tokens: int, streams: int, prompt_tokens: int,
    repeats: int,
) -> dict[str, Any]:  # fmt: skip
    """Build, warm up and measure; every figure of the module docstring, as a dict."""
    target = torch.device(device)
    if target.type == "cuda" and not torch.cuda.is_available():
        raise NoCudaError(
            f"CUDA is not available to torch {torch.__version__} (built for CUDA "
            f"{torch.version.cuda or 'none: a CPU-only wheel'}, {torch.cuda.device_count()} "
            "device(s) visible); install a CUDA build of torch, or run --device cpu --tiny"
        )
    cuda = target.type == "cuda"
    dtype = torch.bfloat16
    config = check_config(layers=layers, tiny=tiny)
    started = time.perf_counter()
    model = random_model(config, dtype=dtype, device=target)
    if cuda:
        torch.cuda.synchronize(target)
    load_s = time.perf_counter() - started
    weights = torch.cuda.memory_allocated(target) if cuda else None
    # No prefix cache: every repeat computes its whole prompt. One chunk holds the whole prompt.
    settings = EngineConfig(
        max_running=max(streams, 1), max_batch_tokens=prompt_tokens + 8, prefix_cache=False
    )
    engine = Engine(model, None, settings)
    vocab = config.vocab_size
    prompt = [(17 * i + 5) % (vocab - 2) + 2 for i in range(prompt_tokens)]
    try:
        best_decode_run(engine, prompt[:16], 4, 1)  # warm up: kernels, allocator, handles
        if cuda:
            torch.cuda.reset_peak_memory_stats(target)
        prefill = best_decode_run(engine, prompt, 2, repeats)
        decode = best_decode_run(engine, prompt[:32], tokens, repeats)
        prompts = [prompt[i : i + 32] for i in range(1, streams + 1)]
        steady, wall = stream_rates(engine, prompts, tokens)
    finally:
        engine.close()
    counts = count_parameters(config)
    return {
        "device": torch.cuda.get_device_name(target) if cuda else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "dtype": str(dtype).removeprefix("torch."),
        "model": f"{PRESET} shapes, {layers} layers" + (", tiny widths" if tiny else ""),
        "total_params": counts["total_params"],
        "active_params": counts["active_params"],
        "build_s": load_s,
        "weight_memory_gb": None if weights is None else weights / 1e9,
        "prompt_tokens": prompt_tokens,
        "ttft_s": prefill.ttft_s,
        "prefill_tokens_per_s": prompt_tokens / prefill.ttft_s,
        "new_tokens": tokens,
        "decode_tokens_per_s": {"1": decode.tokens_per_s, str(streams): steady},
        "streams_wall_tokens_per_s": wall,
        "peak_memory_gb": torch.cuda.max_memory_allocated(target) / 1e9 if cuda else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny widths: a CPU dry run")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per decode run")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    try:
        report = run_check(
            device=args.device, tiny=args.tiny, layers=args.layers, tokens=args.tokens,
            streams=args.streams, prompt_tokens=args.prompt_tokens, repeats=args.repeats,
        )  # fmt: skip
    except NoCudaError as error:
        sys.stderr.write(f"gpu_check: {error}\n")
        return 2
    report["elapsed_s"] = time.perf_counter() - started
    text = json.dumps(report, indent=2)
    sys.stdout.write(text + "\n")
    if os.environ.get("OUT"):
        out = Path(os.environ["OUT"]) / "gpu_check.json"
        out.write_text(text + "\n")
        logger.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
