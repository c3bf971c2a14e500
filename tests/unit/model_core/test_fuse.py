"""Fused q/k/v and gate/up projections compute what the separate ones did, for every linear kind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from twincore.model_core.config import ModelConfig, load_preset
from twincore.model_core.fuse import concat_rows, fuse_projections
from twincore.model_core.loader import init_random
from twincore.model_core.model import GQA, MLP, Transformer
from twincore.model_core.quant import quantize_model
from twincore.model_core.quant_linear import Int4Linear, Int8Linear

GQA_TINY = ModelConfig(
    name="gqa-tiny", attention="gqa", vocab_size=512, hidden_size=64, num_layers=2,
    num_heads=6, intermediate_size=96, num_kv_heads=2, head_dim=16, qkv_bias=True,
    max_position_embeddings=256, tie_word_embeddings=True,
)  # fmt: skip


def _model(config: ModelConfig) -> Transformer:
    model = init_random(config, seed=2).eval()
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(4.0)
            elif param.dim() == 1 and param.abs().max() < 1:  # biases: make them matter
                param.normal_(0, 0.3)
    return model


def _logits(model: Transformer) -> torch.Tensor:
    tokens = torch.randint(0, 512, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        logits: torch.Tensor = model(tokens, torch.arange(9).expand(2, -1))
    return logits.float()


@pytest.mark.parametrize("mode", ["none", "int8", "int4"])
def test_fused_gqa_model_computes_the_same_logits(mode: str) -> None:
    model = _model(GQA_TINY)
    if mode != "none":
        quantize_model(model, mode)  # type: ignore[arg-type]
    before = _logits(model)
    assert fuse_projections(model) == 2 * GQA_TINY.num_layers
    attention = model.model.layers[0].self_attn
    assert isinstance(attention, GQA) and attention.qkv_proj is not None
    assert not hasattr(attention, "q_proj")
    kind = {"none": nn.Linear, "int8": Int8Linear, "int4": Int4Linear}[mode]
    assert type(attention.qkv_proj) is kind
    after = _logits(model)
    scale = before.abs().max().item()
    assert (after - before).abs().max().item() <= 1e-5 * scale
    assert fuse_projections(model) == 0  # idempotent
    assert torch.equal(_logits(model), after)


def test_moe_experts_and_shared_experts_fuse_too() -> None:
    model = _model(load_preset("deep-tiny"))
    quantize_model(model, "int8")
    before = _logits(model)
    mlps = [m for m in model.modules() if isinstance(m, MLP)]
    assert fuse_projections(model) == len(mlps)
    assert all(m.gate_up_proj is not None and not hasattr(m, "gate_proj") for m in mlps)
    after = _logits(model)
    assert (after - before).abs().max().item() <= 1e-5 * before.abs().max().item()


def test_concat_rows_equals_the_outputs_side_by_side() -> None:
    torch.manual_seed(0)
    layers = [nn.Linear(64, n) for n in (32, 48, 16)]
    x = torch.randn(5, 64)
    expected = torch.cat([layer(x) for layer in layers], dim=-1)
    for kind in ("none", "int8", "int4"):
        if kind == "int8":
            parts: list[nn.Module] = [
                Int8Linear.from_linear(lin, compute_dtype=torch.float32) for lin in layers
            ]
        elif kind == "int4":
            parts = [
                Int4Linear.from_linear(lin, group_size=32, compute_dtype=torch.float32)
                for lin in layers
            ]
        else:
            parts = list(layers)
        joined = concat_rows(parts)
        assert joined is not None
        with torch.no_grad():
            separate = torch.cat([part(x) for part in parts], dim=-1)
            fused = joined(x)
        assert (fused - separate).abs().max().item() < 1e-5, kind
        assert (fused - expected).abs().max().item() < (0.2 if kind != "none" else 1e-6), kind


def test_mixed_kinds_and_partial_biases_stay_unfused() -> None:
    plain, with_bias = nn.Linear(64, 32, bias=False), nn.Linear(64, 32)
    quantized = Int8Linear.from_linear(plain, compute_dtype=torch.float32)
    assert concat_rows([plain, quantized]) is None
    assert concat_rows([plain, with_bias]) is None
    assert concat_rows([nn.Linear(64, 32), nn.Linear(32, 32)]) is None
