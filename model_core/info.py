"""Size facts of a model config, counted on the meta device (no weight memory allocated)."""

from __future__ import annotations

from typing import Any

import torch

from twincore.model_core.config import ModelConfig
from twincore.model_core.model import MoE, Transformer

BF16_BYTES = 2


def count_parameters(config: ModelConfig) -> dict[str, int]:
    """Total, active-per-token and MTP parameter counts (embedding and head included).

    total/active exclude the MTP modules, as published model sizes do (DeepSeek-V3: 671B + 14B MTP).
    """
    with torch.device("meta"):
        model = Transformer(config)
    params = {id(p): p for p in model.parameters()}  # tied weights count once
    mtp = sum(p.numel() for p in model.mtp.parameters() if id(p) in params)
    mtp_ids = {id(p) for p in model.mtp.parameters()}
    total = sum(p.numel() for i, p in params.items() if i not in mtp_ids)
    inactive = 0
    for block in model.model.layers:
        if isinstance(block.mlp, MoE):
            per_expert = sum(p.numel() for p in block.mlp.experts[0].parameters())
            inactive += per_expert * (config.n_routed_experts - config.num_experts_per_tok)
    return {"total_params": total, "active_params": total - inactive, "mtp_params": mtp}


def kv_cache_elements_per_token(config: ModelConfig) -> dict[str, int]:
    """Cached elements per token over all layers: MLA latent vs full multi-head K/V."""
    layers = config.num_layers
    if config.attention == "mla":
        latent = layers * (config.kv_lora_rank + config.qk_rope_head_dim)
        mha = layers * config.num_heads * (config.qk_head_dim + config.v_head_dim)
        return {"latent": latent, "mha": mha}
    gqa = layers * 2 * config.num_kv_heads * config.head_dim
    return {"latent": gqa, "mha": layers * 2 * config.num_heads * config.head_dim}


def model_info(config: ModelConfig) -> dict[str, Any]:
    """Everything `twincore model info` reports, with stable key names for scripts."""
    counts = count_parameters(config)
    kv = kv_cache_elements_per_token(config)
    return {
        "name": config.name,
        "attention": config.attention,
        "layers": config.num_layers,
        "heads": config.num_heads,
        "kv_heads": config.num_kv_heads if config.attention == "gqa" else None,
        "hidden_size": config.hidden_size,
        "vocab_size": config.vocab_size,
        "routed_experts": config.n_routed_experts,
        "shared_experts": config.n_shared_experts,
        "active_experts": config.num_experts_per_tok,
        "dense_layers": min(config.first_k_dense, config.num_layers)
        if config.is_moe
        else config.num_layers,
        "mtp_layers": config.num_mtp_layers,
        **counts,
        "kv_elements_per_token_latent": kv["latent"],
        "kv_elements_per_token_mha": kv["mha"],
        "kv_bytes_per_token_latent": kv["latent"] * BF16_BYTES,
        "kv_bytes_per_token_mha": kv["mha"] * BF16_BYTES,
        "kv_compression": kv["mha"] / kv["latent"],
        "kv_dtype": "bfloat16",
    }
