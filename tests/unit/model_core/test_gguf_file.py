"""GGUF reading: config metadata, dequantized tensors under our names, llama Q/K un-permuted."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
import torch

from twincore.model_core import gguf_file
from twincore.model_core.gguf_file import (
    config_from_gguf,
    gguf_layout,
    gguf_state_dict,
    hf_name,
    unpermute_rotary_rows,
)

HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB, LAYERS = 32, 4, 2, 8, 64, 96, 2
Q8 = gguf.GGMLQuantizationType.Q8_0


def llama_cpp_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    """What llama.cpp's convert_hf_to_gguf does to Llama's q/k rows (halves -> pairs)."""
    return (
        weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def q8_exact(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values Q8_0 stores exactly: int8 multiples of 2^-7, each 32-block peaking at 127."""
    ints = rng.integers(-127, 128, size=shape).astype(np.float32)
    ints.reshape(-1, 32)[:, 0] = 127
    return ints / 128


def f16_exact(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float16).astype(np.float32)


def write_gguf(path: Path, arch: str, tensors: dict[str, tuple[np.ndarray, str]]) -> None:
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(f"tiny-{arch}")
    writer.add_block_count(LAYERS)
    writer.add_context_length(2048)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(500000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_bos_token_id(7)
    writer.add_eos_token_id(8)
    for name, (values, kind) in tensors.items():
        if kind == "q8":
            writer.add_tensor(name, gguf.quants.quantize(values, Q8), raw_dtype=Q8)
        else:
            writer.add_tensor(name, values.astype(np.float16 if kind == "f16" else np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def checkpoint(arch: str) -> dict[str, tuple[np.ndarray, str]]:
    """HF-layout tensors (torch shapes) with the storage type each is written in."""
    rng = np.random.default_rng(0)
    tensors = {
        "token_embd.weight": (q8_exact(rng, (VOCAB, HIDDEN)), "q8"),
        "output_norm.weight": (rng.standard_normal(HIDDEN).astype(np.float32), "f32"),
    }
    if arch == "llama":
        tensors["output.weight"] = (f16_exact(rng, (VOCAB, HIDDEN)), "f16")
    for i in range(LAYERS):
        b = f"blk.{i}"
        tensors[f"{b}.attn_norm.weight"] = (rng.standard_normal(HIDDEN).astype(np.float32), "f32")
        tensors[f"{b}.ffn_norm.weight"] = (rng.standard_normal(HIDDEN).astype(np.float32), "f32")
        tensors[f"{b}.attn_q.weight"] = (f16_exact(rng, (HEADS * HEAD_DIM, HIDDEN)), "f32")
        tensors[f"{b}.attn_k.weight"] = (q8_exact(rng, (KV_HEADS * HEAD_DIM, HIDDEN)), "q8")
        tensors[f"{b}.attn_v.weight"] = (f16_exact(rng, (KV_HEADS * HEAD_DIM, HIDDEN)), "f16")
        tensors[f"{b}.attn_output.weight"] = (q8_exact(rng, (HIDDEN, HEADS * HEAD_DIM)), "q8")
        tensors[f"{b}.ffn_gate.weight"] = (q8_exact(rng, (FFN, HIDDEN)), "q8")
        tensors[f"{b}.ffn_up.weight"] = (f16_exact(rng, (FFN, HIDDEN)), "f16")
        tensors[f"{b}.ffn_down.weight"] = (q8_exact(rng, (HIDDEN, FFN)), "q8")
        if arch == "qwen2":
            for part, rows in (("q", HEADS), ("k", KV_HEADS), ("v", KV_HEADS)):
                bias = rng.standard_normal(rows * HEAD_DIM).astype(np.float32)
                tensors[f"{b}.attn_{part}.bias"] = (bias, "f32")
    return tensors


def as_stored(
    arch: str, tensors: dict[str, tuple[np.ndarray, str]]
) -> dict[str, tuple[np.ndarray, str]]:
    """The tensors as llama.cpp's converter writes them: llama's q/k rows permuted."""
    if arch != "llama":
        return tensors
    stored = dict(tensors)
    for name, (values, kind) in tensors.items():
        if ".attn_q." in name:
            stored[name] = (llama_cpp_permute(values, HEADS), kind)
        elif ".attn_k." in name:
            stored[name] = (llama_cpp_permute(values, KV_HEADS), kind)
    return stored


@pytest.mark.parametrize("block", [None, 40], ids=["whole-tensors", "blocks-of-rows"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_config_and_tensors_come_back_exactly(
    arch: str, block: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if block is not None:  # 40 values: one or two rows at a time, never a whole tensor
        monkeypatch.setattr(gguf_file, "DEQUANTIZE_ELEMENTS", block)
    original = checkpoint(arch)
    path = tmp_path / f"{arch}.gguf"
    write_gguf(path, arch, as_stored(arch, original))

    config = config_from_gguf(path)
    assert (config.attention, config.vocab_size, config.hidden_size) == ("gqa", VOCAB, HIDDEN)
    assert (config.num_layers, config.num_heads, config.num_kv_heads) == (LAYERS, HEADS, KV_HEADS)
    assert (config.head_dim, config.intermediate_size) == (HEAD_DIM, FFN)
    assert (config.rope_theta, config.rms_norm_eps) == (500000.0, 1e-5)
    assert (config.max_position_embeddings, config.bos_token_id, config.eos_token_id) == (
        2048,
        7,
        8,
    )
    assert config.tie_word_embeddings == (arch == "qwen2")
    assert config.qkv_bias == (arch == "qwen2")
    assert config.rope_scaling is None and not config.rope_interleave

    stream = list(gguf_state_dict(path))
    stored_bytes = {hf_name(t.name): t.nbytes for t in gguf_layout(path).tensors}
    sizes = [stored_bytes[name] for name, _ in stream]
    assert sizes == sorted(sizes, reverse=True)  # largest first: see gguf_state_dict
    loaded = dict(stream)
    assert set(loaded) == {hf_name(name) for name in original}
    for name, (values, _) in original.items():
        tensor = loaded[hf_name(name)]
        assert tensor.dtype == torch.float32
        assert torch.equal(tensor, torch.from_numpy(values)), name


def test_names_map_to_hugging_face() -> None:
    assert hf_name("token_embd.weight") == "model.embed_tokens.weight"
    assert hf_name("output.weight") == "lm_head.weight"
    assert hf_name("blk.11.ffn_norm.weight") == "model.layers.11.post_attention_layernorm.weight"
    assert hf_name("blk.0.attn_k.bias") == "model.layers.0.self_attn.k_proj.bias"
    with pytest.raises(ValueError, match="unsupported GGUF tensor"):
        hf_name("blk.0.ffn_gate_exps.weight")


def test_unpermuted_rows_rotate_halves_as_llama_cpp_rotates_pairs() -> None:
    """Why the permutation exists: pair rotation of stored rows == half rotation of HF rows."""
    dim, angle = 8, torch.tensor([0.3, 1.1, 2.0, 0.7])
    hf_rows = torch.randn(dim, generator=torch.Generator().manual_seed(3))
    stored = torch.from_numpy(llama_cpp_permute(hf_rows.numpy()[None].T.copy(), 1)).flatten()
    first, second = hf_rows.chunk(2)
    halves = torch.cat(
        (first * angle.cos() - second * angle.sin(), second * angle.cos() + first * angle.sin())
    )
    even, odd = stored[0::2], stored[1::2]
    pairs = torch.stack(
        (even * angle.cos() - odd * angle.sin(), odd * angle.cos() + even * angle.sin()), -1
    )
    assert torch.allclose(unpermute_rotary_rows(pairs.flatten()[:, None], 1).flatten(), halves)
    assert torch.equal(unpermute_rotary_rows(stored[:, None], 1).flatten(), hf_rows)


def test_unsupported_architecture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gemma.gguf"
    writer = gguf.GGUFWriter(path, "gemma")
    writer.add_tensor("token_embd.weight", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ValueError, match="unsupported GGUF architecture 'gemma'"):
        config_from_gguf(path)


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "qwen2.gguf"
    write_gguf(path, "qwen2", checkpoint("qwen2"))
    layout = gguf_layout(path)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size - 64)
    with pytest.raises(ValueError, match="ends inside its data"):
        list(gguf_state_dict(layout))
