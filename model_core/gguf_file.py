"""Read llama.cpp GGUF checkpoints (architectures llama and qwen2) as a ModelConfig and a stream of
float32 tensors under our (Hugging Face) parameter names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gguf import GGUFReader
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


def _reader(source: Source) -> GGUFReader:
    # Opening parses every metadata array (the vocabulary: ~2 s for 49k tokens), so callers that
    # need both the config and the tensors pass one reader to both functions.
    return source if isinstance(source, GGUFReader) else GGUFReader(source)


def _field(reader: GGUFReader, key: str, default: Any = None) -> Any:
    field = reader.get_field(key)
    return default if field is None else field.contents()


def _float(reader: GGUFReader, key: str, default: float) -> float:
    # Metadata floats are float32: go through their shortest repr so 1e-05 stays 1e-05.
    return float(str(np.float32(_field(reader, key, default))))


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
    heads = int(_field(reader, f"{arch}.attention.head_count"))
    head_dim = int(_field(reader, f"{arch}.attention.key_length", hidden // heads))
    rotary = int(_field(reader, f"{arch}.rope.dimension_count", head_dim))
    if rotary != head_dim:
        raise ValueError(f"partial rotary ({rotary} of {head_dim} dims) is unsupported")
    bos, eos = (_field(reader, f"tokenizer.ggml.{t}_token_id") for t in ("bos", "eos"))
    return ModelConfig(
        name=str(reader.data.filename if isinstance(source, GGUFReader) else source),
        attention="gqa",
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_layers=int(_field(reader, f"{arch}.block_count")),
        num_heads=heads,
        num_kv_heads=int(_field(reader, f"{arch}.attention.head_count_kv", heads)),
        head_dim=head_dim,
        intermediate_size=int(_field(reader, f"{arch}.feed_forward_length")),
        rms_norm_eps=_float(reader, f"{arch}.attention.layer_norm_rms_epsilon", 1e-6),
        max_position_embeddings=int(_field(reader, f"{arch}.context_length", 4096)),
        rope_theta=_float(reader, f"{arch}.rope.freq_base", 10000.0),
        rope_scaling=_rope_scaling(reader, arch),
        tie_word_embeddings="output.weight" not in tensors,
        qkv_bias=arch == "qwen2" or "blk.0.attn_q.bias" in tensors,
        bos_token_id=None if bos is None else int(bos),
        eos_token_id=None if eos is None else int(eos),
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
        original_max_position_embeddings=int(
            _field(reader, f"{arch}.rope.scaling.original_context_length")
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
    source: Source, config: ModelConfig | None = None
) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of the file, dequantized to float32, with our name and torch shape."""
    reader = _reader(source)
    config = config or config_from_gguf(reader)
    # Only the llama converter permutes; qwen2 runs with NEOX (halves) rotation in llama.cpp.
    permuted = _field(reader, "general.architecture") == "llama"
    for tensor in reader.tensors:
        name = hf_name(tensor.name)
        values = dequantize(tensor.data, tensor.tensor_type)
        if not values.flags.writeable:  # F32 comes back as a view of the read-only memmap
            values = np.array(values)
        weight = torch.from_numpy(values).reshape(_torch_shape(tensor))
        if permuted and ".q_proj." in name:
            weight = unpermute_rotary_rows(weight, config.num_heads)
        elif permuted and ".k_proj." in name:
            weight = unpermute_rotary_rows(weight, config.num_kv_heads)
        yield name, weight
