"""Weight-only int8 / int4 GEMV and small-GEMM CPU kernels (AVX-512 VNNI) for the quantized linears.

`int8_mm` and `int4_mm` compute y = x W^T (+ b) for x [M, K] in float32 or bfloat16, reading
each weight byte once per call for up to 16 rows of x (decode batches, speculative verification),
threaded over 16-row output tiles with at::parallel_for (torch's thread count applies).

Byte and op budget per call, N x K weight: int8 reads N*K bytes + 2N (scales); int4 reads
N*K/2 bytes + 4N*K/group (bf16 scale and zero per group). Activations are rounded to int8 per
block (int8 weights: 32 values; int4: one group) and multiplied with vpdpbusd: per 64 weight
bytes and row of x, 1 (int8) or 2 (int4) vpdpbusd plus a fused scale per block.

The library is compiled on first use (or by `python -m twincore.model_core.kernels.build`); when
it cannot be (no g++, a CPU without AVX-512 VNNI, a build error, TWINCORE_KERNELS=off) one
warning is logged, `available()` is False and the linears keep PyTorch's aten kernels.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import torch
from torch import Tensor

logger = logging.getLogger(__name__)

TILE_ROWS = 16
"""Output rows per tile: N must be a multiple."""
INT8_K_MULTIPLE = 64
"""The int8 kernel transposes 16 rows x 64 bytes at a time: K must be a multiple."""
INT8_ACTIVATION_BLOCK = 32
"""Activation values sharing one int8 scale for int8 weights (as llama.cpp's Q8_0)."""
INT4_GROUP_MULTIPLE = 32
"""int4 groups must be a multiple of 32 and divide K (activations are rounded per group)."""

_lock = threading.Lock()
_loaded: list[bool] = []  # [] untried, [True] loaded, [False] unavailable (warned once)


def available() -> bool:
    """Whether the kernels run in this process, building and loading the library on first call."""
    with _lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def _load() -> bool:
    if os.environ.get("TWINCORE_KERNELS", "on").lower() in ("0", "off", "false", "no"):
        logger.info("twincore CPU kernels disabled by TWINCORE_KERNELS")
        return False
    from twincore.model_core.kernels.build import KernelBuildError, build

    try:
        path = build()
        torch.ops.load_library(str(path))  # type: ignore[no-untyped-call]
    except (KernelBuildError, OSError, RuntimeError) as exc:
        logger.warning("twincore CPU kernels unavailable, using PyTorch's: %s", exc)
        return False
    logger.debug("loaded twincore CPU kernels from %s", path)
    return True


def int8_fits(out_features: int, in_features: int) -> bool:
    """Whether an [N, K] int8 weight has a shape the int8 kernel takes."""
    return out_features % TILE_ROWS == 0 and in_features % INT8_K_MULTIPLE == 0


def int4_fits(out_features: int, in_features: int, group_size: int) -> bool:
    """Whether an [N, K] int4 weight with this group size has a shape the int4 kernel takes."""
    return (
        out_features % TILE_ROWS == 0
        and group_size % INT4_GROUP_MULTIPLE == 0
        and in_features % group_size == 0
    )


def int8_mm(x: Tensor, weight: Tensor, scales: Tensor, bias: Tensor | None) -> Tensor:
    """y = x (weight * scales[:, None])^T + bias: x [M, K] f32/bf16 contiguous, weight [N, K]
    int8 row-major, scales and bias [N] f32/bf16 -> [M, N] in x's dtype."""
    out: Tensor = torch.ops.twincore.int8_mm(x, weight, scales, bias)
    return out


def int4_mm(
    x: Tensor, packed: Tensor, scales_and_zeros: Tensor, group_size: int, bias: Tensor | None
) -> Tensor:
    """y = x W^T + bias with W = (q - 8) * scale + zero per group: x [M, K] f32/bf16
    contiguous, packed uint8 [N, K/2] from `pack_int4`, scales_and_zeros [K/group, N, 2]
    f32/bf16 -> [M, N] in x's dtype."""
    out: Tensor = torch.ops.twincore.int4_mm(x, packed, scales_and_zeros, group_size, bias)
    return out


def pack_int4(codes: Tensor) -> Tensor:
    """codes [N, K] in [0, 15] -> uint8 [N, K/2] in the kernel's tile layout:
    [N/16][K/8][16 rows][4 bytes], byte b of a row's 4 = code(k0 + b) | code(k0 + 4 + b) << 4."""
    n, k = codes.shape
    tiles = codes.to(torch.uint8).view(n // TILE_ROWS, TILE_ROWS, k // 8, 8)
    pairs = tiles[..., :4] | (tiles[..., 4:] << 4)  # [N/16, 16, K/8, 4]
    return pairs.permute(0, 2, 1, 3).contiguous().view(n, k // 2)


def unpack_int4(packed: Tensor) -> Tensor:
    """uint8 [N, K/2] in the tile layout -> codes int32 [N, K] (inverse of `pack_int4`)."""
    n, half = packed.shape
    tiles = packed.view(n // TILE_ROWS, half // 4, TILE_ROWS, 4).permute(0, 2, 1, 3)
    codes = torch.cat((tiles & 15, tiles >> 4), dim=-1)  # [N/16, 16, K/8, 8]
    return codes.reshape(n, half * 2).to(torch.int32)


def kernel_bench(**options: Any) -> dict[str, Any]:
    """GB/s and ms per call of these kernels against aten's; see `kernels.bench.kernel_bench`."""
    from twincore.model_core.kernels.bench import kernel_bench as run

    return run(**options)
