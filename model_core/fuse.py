"""Fuse projections that read the same input into one matrix, so one kernel call streams them.

GQA's q/k/v become one `qkv_proj` and every SwiGLU MLP's gate/up (MoE experts and shared
experts included) one `gate_up_proj`. The output rows are concatenated, each output element is
the same dot product as before (int8: one scale per row; int4: scales and zeros per group of
K columns, so per output row too), and a decode step makes 4 projection calls per dense layer
instead of 7. Fuse after a checkpoint is saved: the fused names are not Hugging Face's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from twincore.model_core.model import GQA, MLP, Transformer
from twincore.model_core.quant_linear import Int4Linear, Int8Linear

logger = logging.getLogger(__name__)


def fuse_projections(model: Transformer) -> int:
    """Fuse in place; returns how many groups were fused now (0 when already fused)."""
    fused = 0
    for module in model.modules():
        if isinstance(module, GQA) and module.qkv_proj is None:
            joined = concat_rows([module.q_proj, module.k_proj, module.v_proj])
            if joined is not None:
                module.qkv_proj = joined
                del module.q_proj, module.k_proj, module.v_proj
                fused += 1
        elif isinstance(module, MLP) and module.gate_up_proj is None:
            joined = concat_rows([module.gate_proj, module.up_proj])
            if joined is not None:
                module.gate_up_proj = joined
                del module.gate_proj, module.up_proj
                fused += 1
    logger.info("fused %d projection groups", fused)
    return fused


def concat_rows(layers: Sequence[nn.Module]) -> nn.Module | None:
    """One layer whose output is the concatenation of `layers`' outputs on the last dim, of
    the same kind; None when the kinds or their settings differ (left unfused)."""
    first = layers[0]
    if any(type(layer) is not type(first) for layer in layers):
        return None
    if isinstance(first, Int8Linear):
        return _concat_int8([layer for layer in layers if isinstance(layer, Int8Linear)])
    if isinstance(first, Int4Linear):
        return _concat_int4([layer for layer in layers if isinstance(layer, Int4Linear)])
    if type(first) is nn.Linear:
        return _concat_float([layer for layer in layers if isinstance(layer, nn.Linear)])
    return None


def _joined_bias(biases: Sequence[Tensor | None]) -> Tensor | bool | None:
    """The concatenated bias, None when no layer has one, False when only some have."""
    present = [b for b in biases if b is not None]
    if not present:
        return None
    if len(present) != len(biases):
        return False
    return torch.cat([b.detach() for b in present])


def _concat_float(layers: Sequence[nn.Linear]) -> nn.Linear | None:
    first = layers[0]
    bias = _joined_bias([layer.bias for layer in layers])
    if bias is False or any(layer.in_features != first.in_features for layer in layers):
        return None
    weight = torch.cat([layer.weight.detach() for layer in layers])  # [sum N, K]
    joined = nn.Linear(
        first.in_features,
        weight.shape[0],
        bias=bias is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        joined.weight.copy_(weight)
        if isinstance(bias, Tensor):
            joined.bias.copy_(bias)
    joined.requires_grad_(first.weight.requires_grad)
    return joined


def _concat_int8(layers: Sequence[Int8Linear]) -> Int8Linear | None:
    first = layers[0]
    bias = _joined_bias([layer.bias for layer in layers])
    same = all(
        layer.in_features == first.in_features and layer.compute_dtype == first.compute_dtype
        for layer in layers
    )
    if bias is False or not same:
        return None
    return Int8Linear(
        torch.cat([layer.weight_int8 for layer in layers]),  # [sum N, K]
        torch.cat([layer.scales for layer in layers]),  # [sum N]
        bias if isinstance(bias, Tensor) else None,
        compute_dtype=first.compute_dtype,
    )


def _concat_int4(layers: Sequence[Int4Linear]) -> Int4Linear | None:
    first = layers[0]
    bias = _joined_bias([layer.bias for layer in layers])
    same = all(
        layer.in_features == first.in_features
        and layer.group_size == first.group_size
        and layer.compute_dtype == first.compute_dtype
        for layer in layers
    )
    if bias is False or not same:
        return None
    return Int4Linear(
        torch.cat([layer.codes() for layer in layers]),  # [sum N, Kp]
        torch.cat([layer.scales_and_zeros for layer in layers], dim=1),  # [Kp/group, sum N, 2]
        bias if isinstance(bias, Tensor) else None,
        in_features=first.in_features,
        group_size=first.group_size,
        compute_dtype=first.compute_dtype,
    )
