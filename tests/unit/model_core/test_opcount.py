"""The decode-step operator count: top-level operators only, and fusing lowers it."""

from __future__ import annotations

from twincore.model_core.config import ModelConfig
from twincore.model_core.fuse import fuse_projections
from twincore.model_core.loader import init_random
from twincore.model_core.opcount import decode_step_ops, ops_per_token

GQA_TINY = ModelConfig(
    name="gqa-tiny", attention="gqa", vocab_size=512, hidden_size=64, num_layers=2,
    num_heads=6, intermediate_size=96, num_kv_heads=2, head_dim=16, qkv_bias=True,
    max_position_embeddings=256, tie_word_embeddings=True,
)  # fmt: skip


def test_counts_dispatched_operators_not_their_insides() -> None:
    model = init_random(GQA_TINY, seed=0)
    ops = decode_step_ops(model, context=20)
    layers = GQA_TINY.num_layers
    assert ops["aten::rms_norm"] == 2 * layers + 1  # two per layer and the final norm
    assert ops["aten::scaled_dot_product_attention"] == layers
    assert "aten::_fused_rms_norm" not in ops  # called inside rms_norm
    assert ops_per_token(model, context=20) == sum(ops.values())


def test_fusing_saves_operators_per_layer() -> None:
    model = init_random(GQA_TINY, seed=0)
    before = decode_step_ops(model, context=20)
    fuse_projections(model)
    after = decode_step_ops(model, context=20)
    layers = GQA_TINY.num_layers
    assert before["aten::linear"] == 7 * layers + 1  # q, k, v, o, gate, up, down; the head
    assert after["aten::linear"] == 4 * layers + 1
    assert sum(after.values()) < sum(before.values())
