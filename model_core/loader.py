"""Build a Transformer from a checkpoint directory (safetensors, DeepSeek FP8 included), a GGUF
file, or a preset name with random weights.

The model is built on the meta device and the checkpoint's tensors are assigned to it one by one,
so loading holds about one copy of the weights (in the target dtype) at its peak. With a
quantization mode the projections are quantized as they stream in (see `StreamQuantizer`), so
the float model never exists whole: loading a GGUF as int8 peaks near the int8 model's size.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch
from gguf import GGUFReader
from safetensors import safe_open
from torch import nn

from twincore.model_core.config import ModelConfig, load_config, load_preset, preset_names
from twincore.model_core.fp8 import BLOCK, FP8_DTYPE, dequantize_fp8_block
from twincore.model_core.gguf_file import GGUFLayout, gguf_layout, gguf_state_dict
from twincore.model_core.load_memory import trim_heap
from twincore.model_core.model import Transformer
from twincore.model_core.quant import QuantMode, StreamQuantizer, quantize_model

logger = logging.getLogger(__name__)

SCALE_SUFFIX = "_scale_inv"
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)
"""Checkpoint entries the model recomputes itself."""
FLOAT32_SUFFIXES = ("e_score_correction_bias",)
"""Kept in float32 whatever the dtype: routing adds this bias to float32 scores, and bf16 would
round away the small differences between experts that decide the top-k."""
_LAYER = re.compile(r"model\.layers\.(\d+)\.(.+)")
_MTP_OWN = {"enorm.weight", "hnorm.weight", "eh_proj.weight"}
_MTP_SHARED = {"embed_tokens.weight", "shared_head.head.weight"}  # the main model's, not copies


class CheckpointMismatchError(ValueError):
    """The checkpoint's tensor names do not match the model built from its config."""


def load_model(
    source: str | Path | GGUFReader | GGUFLayout,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    seed: int = 0,
    quantization: QuantMode | None = None,
    group_size: int = 32,
) -> Transformer:
    """A model from a checkpoint directory, a .gguf file (its open reader, to share with the
    tokenizer, or its `gguf_layout`, to drop the reader first), or a preset name (random
    weights from seed).

    With `quantization`, the result equals loading in float32 and then
    `quantize_model(model, quantization, group_size=group_size, activation_dtype=dtype)`,
    without ever holding the float model (presets: quantized after the random init).
    """
    started = time.perf_counter()
    layout: GGUFLayout | None
    if isinstance(source, GGUFLayout | GGUFReader):
        layout = source if isinstance(source, GGUFLayout) else gguf_layout(source)
        path = layout.path
    else:
        path = Path(source)
        layout = gguf_layout(path) if path.suffix == ".gguf" and path.is_file() else None
    if layout is not None:
        tensors = gguf_state_dict(layout)
        model = _assign(layout.config, tensors, dtype, device, quantization, group_size)
    elif path.is_dir():
        with ExitStack() as stack:
            handles = _open_safetensors(path, stack)
            config = _drop_absent_mtp(load_config(path), handles)
            weights = _read_safetensors(handles, _fp8_block(path), dtype)
            model = _assign(config, weights, dtype, device, quantization, group_size)
    elif str(source) in preset_names():
        if quantization is None:
            return init_random(load_preset(str(source)), seed=seed, dtype=dtype, device=device)
        model = init_random(load_preset(str(source)), seed=seed, device=device)
        quantize_model(model, quantization, group_size=group_size, activation_dtype=dtype)
        return model
    else:
        raise ValueError(
            f"{source!s} is neither a checkpoint directory, a .gguf file nor a preset"
            f" ({', '.join(preset_names())})"
        )
    logger.info("loaded %s (%s, %s) in %.1f s", path, dtype, device, time.perf_counter() - started)
    return model


def init_random(
    config: ModelConfig,
    *,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> Transformer:
    """Random weights for tests and benchmarks: N(0, 0.02) matrices and biases, unit norms,
    a small random routing correction bias. The same seed gives the same weights."""
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        shapes = {name: t.shape for name, t in Transformer(config).state_dict().items()}
    if config.tie_word_embeddings:
        shapes.pop("lm_head.weight", None)

    def tensors() -> Iterator[tuple[str, torch.Tensor]]:
        for name, shape in shapes.items():
            if name.endswith("norm.weight"):
                yield name, torch.ones(shape)
            elif name.endswith("e_score_correction_bias"):
                yield name, torch.randn(shape, generator=generator) * 1e-3
            else:
                yield name, torch.randn(shape, generator=generator) * 0.02

    return _assign(config, tensors(), dtype, device)


def our_name(name: str, config: ModelConfig) -> str | None:
    """The model's name for a checkpoint tensor, or None when the model does not load it.

    DeepSeek-V3 stores MTP module k as decoder layer num_layers + k; we keep it in `mtp.{k}`.
    """
    if name.endswith(IGNORED_SUFFIXES):
        return None
    match = _LAYER.fullmatch(name)
    if match is None or int(match.group(1)) < config.num_layers:
        return name
    depth, rest = int(match.group(1)) - config.num_layers, match.group(2)
    if rest in _MTP_SHARED:
        return None
    if rest in _MTP_OWN:
        return f"mtp.{depth}.{rest}"
    if rest == "shared_head.norm.weight":
        return f"mtp.{depth}.norm.weight"
    return f"mtp.{depth}.block.{rest}"


def _assign(
    config: ModelConfig,
    tensors: Iterable[tuple[str, torch.Tensor]],
    dtype: torch.dtype,
    device: str | torch.device,
    quantization: QuantMode | None = None,
    group_size: int = 32,
) -> Transformer:
    """Build the model on meta and assign the streamed tensors, cast (or quantized) one at a
    time, to it."""
    with torch.device("meta"):
        model = Transformer(config)
    expected = set(model.state_dict())
    quantizer = None
    if quantization is not None:
        quantizer = StreamQuantizer(
            model, quantization, group_size=group_size, activation_dtype=dtype
        )
    embed, head = "model.embed_tokens.weight", "lm_head.weight"
    seen: set[str] = set()
    loaded: dict[str, torch.Tensor] = {}
    for name, tensor in tensors:
        target = our_name(name, config)
        # Tied checkpoints normally omit the head; one that repeats it is redundant.
        if target is None or (config.tie_word_embeddings and target == head):
            continue
        seen.add(target)
        if quantizer is not None:
            kept = quantizer.take(target, tensor)
            if kept is not None:
                loaded[target] = kept.to(device)
        else:
            wanted = torch.float32 if target.endswith(FLOAT32_SUFFIXES) else dtype
            loaded[target] = tensor.to(device=device, dtype=wanted)
        del tensor  # before the stream reads the next one
        trim_heap()  # the float temporaries' pages, which glibc would keep (see trim_heap)
    if config.tie_word_embeddings and embed in loaded:
        seen.add(head)
        if quantizer is None or head not in quantizer.consumed:
            loaded[head] = loaded[embed]
    _check_names(expected, seen)
    model.load_state_dict(loaded, strict=False, assign=True)
    if config.tie_word_embeddings and isinstance(model.lm_head, nn.Linear):
        # assign=True wrapped the shared tensor in two Parameters; make them one again.
        model.lm_head.weight = model.model.embed_tokens.weight
    if quantizer is not None:
        logger.info(
            "quantized %s to %s while loading: layers by path %s",
            config.name, quantization, dict(quantizer.kernel_paths) or "-",
        )  # fmt: skip
    return model.to(device).eval()  # moves the rotary tables, which are not in the checkpoint


def _check_names(expected: set[str], loaded: set[str]) -> None:
    missing, unexpected = sorted(expected - loaded), sorted(loaded - expected)
    if not missing and not unexpected:
        return

    def listing(names: list[str]) -> str:
        shown = ", ".join(names[:20])
        return shown + (f" ... ({len(names)} in all)" if len(names) > 20 else "")

    parts = [f"missing: {listing(missing)}"] if missing else []
    parts += [f"unexpected: {listing(unexpected)}"] if unexpected else []
    raise CheckpointMismatchError("checkpoint does not match the model; " + "; ".join(parts))


def _open_safetensors(directory: Path, stack: ExitStack) -> dict[str, Any]:
    """Every tensor name of the checkpoint -> the open (memory-mapped) file that holds it."""
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        weight_map: dict[str, str] = json.loads(index.read_text())["weight_map"]
        files = sorted(set(weight_map.values()))
    elif (directory / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise FileNotFoundError(f"{directory} has neither model.safetensors nor an index of shards")
    handles: dict[str, Any] = {}
    for file in files:
        handle = stack.enter_context(safe_open(directory / file, framework="pt"))
        handles.update(dict.fromkeys(handle.keys(), handle))
    return handles


def _read_safetensors(
    handles: Mapping[str, Any], block: int, dtype: torch.dtype
) -> Iterator[tuple[str, torch.Tensor]]:
    """Tensors in file order; FP8 weights come out dequantized with their scales consumed."""
    for name, handle in handles.items():
        if name.endswith(SCALE_SUFFIX) and name.removesuffix(SCALE_SUFFIX) in handles:
            continue
        tensor = handle.get_tensor(name)
        if tensor.dtype == FP8_DTYPE:
            scale_name = name + SCALE_SUFFIX
            if scale_name not in handles:
                raise CheckpointMismatchError(f"FP8 tensor {name} has no {scale_name}")
            scale = handles[scale_name].get_tensor(scale_name)
            tensor = dequantize_fp8_block(tensor, scale, block, dtype=dtype)
        yield name, tensor


def _fp8_block(directory: Path) -> int:
    """The FP8 block size of config.json's quantization_config (DeepSeek: [128, 128])."""
    quant = json.loads((directory / "config.json").read_text()).get("quantization_config") or {}
    rows, cols = quant.get("weight_block_size") or (BLOCK, BLOCK)
    if rows != cols:
        raise ValueError(f"non-square FP8 blocks {rows}x{cols} are unsupported")
    return int(rows)


def _drop_absent_mtp(config: ModelConfig, names: Iterable[str]) -> ModelConfig:
    """Without MTP weights, a config that asks for MTP modules loads without them.

    transformers' DeepSeek-V3 keeps num_nextn_predict_layers in config.json but neither builds
    nor saves the MTP layers, so its checkpoints would otherwise never load.
    """
    if config.num_mtp_layers == 0:
        return config
    if any((our_name(n, config) or "").startswith("mtp.") for n in names):
        return config
    logger.warning("%s has no MTP weights: loading without MTP modules", config.name)
    return dataclasses.replace(config, num_mtp_layers=0)
