"""Read llama.cpp GGUF checkpoints (architectures llama and qwen2) as a ModelConfig and a stream of
float32 tensors under our (Hugging Face) parameter names.

Tensors are read with plain file reads, not through the reader's memory map: pages a map has
touched count in the process's RSS until it is closed (the whole 1.1 GB file for the 1.5B
model), while read() leaves them in the page cache only. Each tensor is dequantized a block of
rows at a time into its float32 result, so the transient beyond that result is one block.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

from twincore.model_core.config import ModelConfig, RopeScaling

GGUF_ARCHITECTURES = ("llama", "qwen2")

_GLOBAL_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_BLOCK_NAMES = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_BLOCK_TENSOR = re.compile(r"blk\.(\d+)\.(\w+)\.(weight|bias)")

Source = str | Path | GGUFReader
DEQUANTIZE_ELEMENTS = 1 << 22
"""Float32 values dequantized per block of rows (16 MB; gguf's numpy dequantizers hold a few
temporaries of that size)."""


@dataclass(frozen=True)
class GGUFTensor:
    """Where one tensor's bytes lie in the file and how they decode."""

    name: str
    """llama.cpp's name (blk.0.attn_q.weight)."""
    kind: GGMLQuantizationType
    shape: tuple[int, ...]
    """Torch order (rows first) of the float tensor."""
    stored_shape: tuple[int, ...]
    """numpy shape of the stored data (rows first; quantized rows as bytes)."""
    stored_dtype: np.dtype[Any]
    offset: int
    """Absolute byte offset of the data in the file."""
    nbytes: int


@dataclass(frozen=True)
class GGUFLayout:
    """What streaming a GGUF's weights needs, without the reader: its parsed metadata is large
    (about 0.5 GB of Python objects for a 151k-token vocabulary) and can go before the weights
    are read."""

    path: Path
    config: ModelConfig
    tensors: tuple[GGUFTensor, ...]
    rotary_permuted: bool
    """Q/K rows are in llama.cpp's pair order (only the llama converter permutes them)."""


def gguf_layout(source: Source) -> GGUFLayout:
    """Config and tensor locations of a GGUF file (or of an open reader's file)."""
    reader = _reader(source)
    tensors = tuple(
        GGUFTensor(
            name=t.name,
            kind=t.tensor_type,
            shape=_torch_shape(t),
            stored_shape=tuple(int(d) for d in t.data.shape),
            stored_dtype=t.data.dtype,
            offset=int(t.data_offset),
            nbytes=int(t.n_bytes),
        )
        for t in reader.tensors
    )
    return GGUFLayout(
        path=Path(str(reader.data.filename)),
        config=config_from_gguf(reader),
        tensors=tensors,
        rotary_permuted=_field(reader, "general.architecture") == "llama",
    )


class GGUFFormatError(ValueError):
    """A file that is not a GGUF we can read: damaged, cut short, or metadata of the wrong type
    (the message names the file or the field)."""


def _reader(source: Source) -> GGUFReader:
    # Opening parses every metadata array (the vocabulary: ~2 s for 49k tokens), so callers that
    # need both the config and the tensors pass one reader to both functions.
    if isinstance(source, GGUFReader):
        return source
    try:
        return GGUFReader(source)
    # gguf's reader indexes its memory map without bounds checks: a file cut short or a length
    # overwritten raises IndexError, a repeated key KeyError (found by fuzzing model paths).
    except (ValueError, LookupError, TypeError, ArithmeticError) as error:
        raise GGUFFormatError(f"{source} is not a readable GGUF file: {error}") from error


def _field(reader: GGUFReader, key: str, default: Any = None) -> Any:
    field = reader.get_field(key)
    return default if field is None else field.contents()


def _float(reader: GGUFReader, key: str, default: float) -> float:
    # Metadata floats are float32: go through their shortest repr so 1e-05 stays 1e-05.
    value = _field(reader, key, default)
    try:
        return float(str(np.float32(value)))
    except (TypeError, ValueError) as error:
        raise GGUFFormatError(f"GGUF metadata {key} must be a number, not {value!r}") from error


def _count(reader: GGUFReader, key: str, default: Any = None) -> int:
    """A metadata value that must be a positive integer (a count or a size)."""
    value = _field(reader, key, default)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        number = 0
    if number < 1 or number != value:
        raise GGUFFormatError(f"GGUF metadata {key} must be a positive integer, not {value!r}")
    return number


def _token_id(reader: GGUFReader, key: str) -> int | None:
    value = _field(reader, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GGUFFormatError(f"GGUF metadata {key} must be a token id, not {value!r}")
    return value


def _torch_shape(tensor: Any) -> tuple[int, ...]:
    # GGUF lists dimensions fastest-varying first: the reverse of torch's row-major shape.
    return tuple(int(d) for d in reversed(tensor.shape.tolist()))


def config_from_gguf(source: Source) -> ModelConfig:
    """The ModelConfig of a llama or qwen2 GGUF file (attention "gqa")."""
    reader = _reader(source)
    arch = _field(reader, "general.architecture")
    if arch not in GGUF_ARCHITECTURES:
        raise ValueError(f"unsupported GGUF architecture {arch!r}; supported: {GGUF_ARCHITECTURES}")
    tensors = {t.name: t for t in reader.tensors}
    if "rope_freqs.weight" in tensors:
        raise ValueError("GGUF uses per-dimension rope frequencies (Llama 3.1 style): unsupported")
    if "token_embd.weight" not in tensors:
        raise ValueError("GGUF has no token_embd.weight")
    vocab_size, hidden = _torch_shape(tensors["token_embd.weight"])
    if hidden != _field(reader, f"{arch}.embedding_length"):
        raise ValueError(f"token_embd.weight width {hidden} != {arch}.embedding_length")
    heads = _count(reader, f"{arch}.attention.head_count")
    head_dim = _count(reader, f"{arch}.attention.key_length", hidden // heads)
    rotary = _count(reader, f"{arch}.rope.dimension_count", head_dim)
    if rotary != head_dim:
        raise ValueError(f"partial rotary ({rotary} of {head_dim} dims) is unsupported")
    return ModelConfig(
        name=str(reader.data.filename if isinstance(source, GGUFReader) else source),
        attention="gqa",
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_layers=_count(reader, f"{arch}.block_count"),
        num_heads=heads,
        num_kv_heads=_count(reader, f"{arch}.attention.head_count_kv", heads),
        head_dim=head_dim,
        intermediate_size=_count(reader, f"{arch}.feed_forward_length"),
        rms_norm_eps=_float(reader, f"{arch}.attention.layer_norm_rms_epsilon", 1e-6),
        max_position_embeddings=_count(reader, f"{arch}.context_length", 4096),
        rope_theta=_float(reader, f"{arch}.rope.freq_base", 10000.0),
        rope_scaling=_rope_scaling(reader, arch),
        tie_word_embeddings="output.weight" not in tensors,
        qkv_bias=arch == "qwen2" or "blk.0.attn_q.bias" in tensors,
        bos_token_id=_token_id(reader, "tokenizer.ggml.bos_token_id"),
        eos_token_id=_token_id(reader, "tokenizer.ggml.eos_token_id"),
        extra={"gguf_architecture": arch, "gguf_name": _field(reader, "general.name")},
    )


def _rope_scaling(reader: GGUFReader, arch: str) -> RopeScaling | None:
    kind = _field(reader, f"{arch}.rope.scaling.type", "none")
    if kind == "none":
        return None
    if kind != "yarn":
        raise ValueError(f"unsupported GGUF rope scaling {kind!r} (supported: yarn)")
    return RopeScaling(
        factor=_float(reader, f"{arch}.rope.scaling.factor", 1.0),
        original_max_position_embeddings=_count(
            reader, f"{arch}.rope.scaling.original_context_length"
        ),
    )


def hf_name(gguf_name: str) -> str:
    """Our parameter name for a llama.cpp tensor name (blk.3.attn_q.weight -> model.layers.3...)."""
    if gguf_name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[gguf_name]
    match = _BLOCK_TENSOR.fullmatch(gguf_name)
    if match is None or match.group(2) not in _BLOCK_NAMES:
        raise ValueError(f"unsupported GGUF tensor {gguf_name!r}")
    layer, part, kind = match.groups()
    return f"model.layers.{layer}.{_BLOCK_NAMES[part]}.{kind}"


def unpermute_rotary_rows(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Undo llama.cpp's Q/K row permutation: weight [n_heads*D, ...] -> same shape.

    llama.cpp rotates adjacent pairs (x0,x1),(x2,x3); Hugging Face Llama rotates halves
    (x_i, x_{i+D/2}). Its converter therefore reorders each head's rows from [half0, half1] to
    interleaved [h0[0], h1[0], h0[1], h1[1], ...]; this puts them back.
    """
    rows = weight.shape[0]
    pairs = weight.reshape(n_heads, rows // n_heads // 2, 2, *weight.shape[1:])  # [H, D/2, 2, ...]
    return pairs.transpose(1, 2).reshape(weight.shape).contiguous()  # [H, 2, D/2, ...]


def gguf_state_dict(
    source: Source | GGUFLayout, config: ModelConfig | None = None
) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of the file, dequantized to float32, with our name and torch shape.

    The largest tensors come first, so their float transients (the 0.9 GB embedding of a 151k
    vocabulary) fall while the model being assembled from this stream is still small.
    """
    layout = source if isinstance(source, GGUFLayout) else gguf_layout(source)
    config = config or layout.config
    with layout.path.open("rb") as file:
        for tensor in sorted(layout.tensors, key=lambda t: t.nbytes, reverse=True):
            name = hf_name(tensor.name)
            weight = _read_float32(file, tensor)
            if layout.rotary_permuted and ".q_proj." in name:
                weight = unpermute_rotary_rows(weight, config.num_heads)
            elif layout.rotary_permuted and ".k_proj." in name:
                weight = unpermute_rotary_rows(weight, config.num_kv_heads)
            yield name, weight
            del weight  # a suspended generator would otherwise keep it alive into the next read


def _read_float32(file: BufferedReader, tensor: GGUFTensor) -> torch.Tensor:
    """One tensor's float32 values, read and dequantized a block of rows at a time."""
    out = torch.empty(tensor.shape, dtype=torch.float32)
    rows = math.prod(tensor.stored_shape[:-1])  # 1 for a vector
    width = tensor.stored_shape[-1]
    out_rows = out.view(rows, -1)  # [rows, cols]
    step = max(1, DEQUANTIZE_ELEMENTS // out_rows.shape[1])
    row_bytes = tensor.nbytes // rows
    for start in range(0, rows, step):
        count = min(step, rows - start)
        stored = np.empty((count, width), dtype=tensor.stored_dtype)
        file.seek(tensor.offset + start * row_bytes)
        if file.readinto(stored.data.cast("B")) != stored.nbytes:
            raise ValueError(f"{tensor.name}: the GGUF file ends inside its data")
        values = dequantize(stored, tensor.kind).reshape(count, -1)  # [count, cols] float32
        out_rows[start : start + count] = torch.from_numpy(values)
    return out
