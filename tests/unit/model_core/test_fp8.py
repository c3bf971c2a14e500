"""DeepSeek block FP8: quantize/dequantize round trips within e4m3's rounding error."""

from __future__ import annotations

import pytest
import torch

from twincore.model_core.fp8 import FP8_DTYPE, dequantize_fp8_block, quantize_fp8_block

# e4m3 keeps 3 mantissa bits: round-to-nearest errs by at most half a step, 2^-4 = 6.25 % of
# a normal value. Values below e4m3's smallest normal (2^-6 of the tile scale's 448 range) sit on
# a fixed grid of step 2^-9 * scale, so their error is at most 2^-10 * scale instead.
RELATIVE_STEP = 2.0**-4
SUBNORMAL_HALF_STEP = 2.0**-10


@pytest.mark.parametrize("shape", [(300, 200), (128, 256), (1, 129), (257, 1)])
def test_round_trip_is_within_fp8_rounding(shape: tuple[int, int]) -> None:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(shape, generator=generator) * torch.logspace(-3, 1, shape[1])
    fp8, scale_inv = quantize_fp8_block(weight)

    assert fp8.dtype == FP8_DTYPE and fp8.shape == weight.shape
    assert scale_inv.dtype == torch.float32
    assert scale_inv.shape == (-(-shape[0] // 128), -(-shape[1] // 128))
    restored = dequantize_fp8_block(fp8, scale_inv)
    assert restored.dtype == torch.float32 and restored.shape == weight.shape

    per_element_scale = scale_inv.repeat_interleave(128, 0).repeat_interleave(128, 1)
    per_element_scale = per_element_scale[: shape[0], : shape[1]]
    bound = weight.abs() * RELATIVE_STEP + per_element_scale * SUBNORMAL_HALF_STEP
    assert ((restored - weight).abs() <= bound * (1 + 1e-5)).all()
    # Across a whole matrix the error averages far below the worst case.
    assert (restored - weight).norm() / weight.norm() < 0.04


def test_each_tile_maximum_is_exact_and_scale_is_amax_over_448() -> None:
    weight = torch.randn(200, 300, generator=torch.Generator().manual_seed(1))
    fp8, scale_inv = quantize_fp8_block(weight)
    tile = weight[128:, 256:]
    assert scale_inv[1, 2] == pytest.approx(tile.abs().max().item() / 448, rel=1e-6)
    assert fp8[128:, 256:].float().abs().max() == 448
    restored = dequantize_fp8_block(fp8, scale_inv)
    peak = tile.abs().argmax()
    assert restored[128:, 256:].flatten()[peak] == pytest.approx(tile.flatten()[peak].item())


def test_zero_tiles_stay_zero_and_bf16_output() -> None:
    weight = torch.zeros(130, 130)
    weight[:128, :128] = 1.0
    fp8, scale_inv = quantize_fp8_block(weight)
    restored = dequantize_fp8_block(fp8, scale_inv, dtype=torch.bfloat16)
    assert restored.dtype == torch.bfloat16
    assert torch.equal(restored.float(), weight)


def test_other_block_sizes_and_shape_errors() -> None:
    weight = torch.randn(70, 33, generator=torch.Generator().manual_seed(2))
    fp8, scale_inv = quantize_fp8_block(weight, block=32)
    assert scale_inv.shape == (3, 2)
    restored = dequantize_fp8_block(fp8, scale_inv, block=32)
    assert (restored - weight).norm() / weight.norm() < 0.04
    with pytest.raises(ValueError, match="scale_inv shape"):
        dequantize_fp8_block(fp8, scale_inv)  # 128 blocks expect a (1, 1) scale
    with pytest.raises(ValueError, match="2-D"):
        quantize_fp8_block(torch.ones(4))
