"""DeepSeek-V3 block-wise FP8 weights: dequantize on load, quantize for tests and tools.

A DeepSeek FP8 checkpoint stores each large linear weight as `float8_e4m3fn` next to a float32
`<name>_scale_inv` holding one scale per block x block tile (ceil division, so the last row and
column of tiles may be partial). The real value is `weight.float() * scale_inv` of its tile.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the universal alias)

FP8_DTYPE = torch.float8_e4m3fn
FP8_MAX = 448.0
"""Largest finite float8_e4m3fn value; a tile's amax maps onto it."""
BLOCK = 128
"""DeepSeek-V3's weight_block_size (128 x 128)."""


def _tiles(rows: int, cols: int, block: int) -> tuple[int, int]:
    return -(-rows // block), -(-cols // block)


def _as_tiles(weight: torch.Tensor, block: int) -> torch.Tensor:
    """Zero-pad a float [M, N] matrix to whole tiles and view it as [Mb, block, Nb, block]."""
    rows, cols = weight.shape
    row_tiles, col_tiles = _tiles(rows, cols, block)
    padded = F.pad(weight, (0, col_tiles * block - cols, 0, row_tiles * block - rows))
    return padded.view(row_tiles, block, col_tiles, block)


def dequantize_fp8_block(
    weight: torch.Tensor,
    scale_inv: torch.Tensor,
    block: int = BLOCK,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """weight: [M, N] float8_e4m3fn, scale_inv: [ceil(M/block), ceil(N/block)] -> [M, N] dtype.

    Multiplies in float32 (as DeepSeek's kernel does) and casts once at the end.
    """
    if weight.dim() != 2:
        raise ValueError(f"FP8 block weights are 2-D, got shape {tuple(weight.shape)}")
    rows, cols = weight.shape
    expected = _tiles(rows, cols, block)
    if tuple(scale_inv.shape) != expected:
        raise ValueError(
            f"scale_inv shape {tuple(scale_inv.shape)} does not match weight {tuple(weight.shape)}"
            f" with {block}x{block} blocks (expected {expected})"
        )
    tiles = _as_tiles(weight.to(torch.float32), block)  # [Mb, block, Nb, block]
    tiles.mul_(scale_inv.to(torch.float32)[:, None, :, None])
    full = tiles.view(expected[0] * block, expected[1] * block)
    return full[:rows, :cols].to(dtype).contiguous()


def quantize_fp8_block(
    weight: torch.Tensor, block: int = BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """weight: [M, N] float -> (fp8 [M, N], scale_inv float32 [ceil(M/block), ceil(N/block)]).

    Each tile's scale is amax/448 so its largest element lands on the largest FP8 value.
    """
    if weight.dim() != 2:
        raise ValueError(f"FP8 block weights are 2-D, got shape {tuple(weight.shape)}")
    rows, cols = weight.shape
    tiles = _as_tiles(weight.to(torch.float32), block)  # [Mb, block, Nb, block]
    amax = tiles.abs().amax(dim=(1, 3))  # [Mb, Nb]
    # An all-zero tile would divide by zero; any positive scale keeps its zeros exact.
    scale = (amax / FP8_MAX).clamp(min=torch.finfo(torch.float32).tiny)
    # Clamp because w/scale can round a hair past 448, and e4m3fn has no infinity to absorb it.
    scaled = (tiles / scale[:, None, :, None]).clamp_(-FP8_MAX, FP8_MAX)
    fp8 = scaled.to(FP8_DTYPE).view(amax.shape[0] * block, amax.shape[1] * block)
    return fp8[:rows, :cols].contiguous(), scale
