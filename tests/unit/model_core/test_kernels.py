"""twincore's weight-only CPU kernels: the ops against a reference that rounds the activations
exactly as they do, the quantized linears that run them against their dequantized weights,
their shape rules and fallbacks, and the library build."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from twincore.model_core import kernels, quant_linear
from twincore.model_core.kernels import build
from twincore.model_core.quant_linear import (
    DEQUANTIZE,
    INT8_KERNEL,
    TWINCORE_INT4,
    TWINCORE_INT8,
    Int4Linear,
    Int8Linear,
    quantize_int4,
)

BF16 = torch.bfloat16
ROWS = (1, 3, 8, 16)
needs_kernels = pytest.mark.skipif(
    not kernels.available(), reason="twincore kernels do not build here (no g++ or AVX-512 VNNI)"
)


def _rounded_activations(x: Tensor, block: int) -> tuple[Tensor, Tensor]:
    """x [M, K] -> (q [M, K/block, block] integers as float64, scale [M, K/block]) computed as
    the kernels do: scale = amax / 127, q = round-half-even(x * (127 / amax)) in float32."""
    m, k = x.shape
    blocks = x.float().view(m, k // block, block)
    amax = blocks.abs().amax(dim=-1)
    # A true division: `127 / amax` on a tensor multiplies by its reciprocal (one ulp apart).
    inverse = torch.where(amax > 0, torch.full_like(amax, 127) / amax, torch.zeros_like(amax))
    q = (blocks * inverse[..., None]).round()
    return q.double(), (amax / 127).double()


def _int8_reference(x: Tensor, weight: Tensor, scales: Tensor, bias: Tensor | None) -> Tensor:
    # x: [M, K]; weight: [N, K] int8; scales: [N] -> [M, N] float64
    q, scale = _rounded_activations(x, kernels.INT8_ACTIVATION_BLOCK)
    n, k = weight.shape
    w = weight.double().view(n, k // kernels.INT8_ACTIVATION_BLOCK, -1)  # [N, B, 32]
    per_block = torch.einsum("mbk,nbk->mnb", q, w)
    out = (per_block * scale[:, None, :]).sum(-1) * scales.double()
    return out if bias is None else out + bias.double()


def _int4_reference(
    x: Tensor, codes: Tensor, scales_and_zeros: Tensor, group: int, bias: Tensor | None
) -> Tensor:
    # x: [M, K]; codes: [N, K]; scales_and_zeros: [K/group, N, 2] -> [M, N] float64
    q, scale = _rounded_activations(x, group)
    n, k = codes.shape
    centred = (codes.double() - 8).view(n, k // group, group)  # [N, G, group]
    scales, zeros = scales_and_zeros.double().unbind(-1)  # [G, N]
    dots = torch.einsum("mgk,ngk->mng", q, centred) * scale[:, None, :]
    sums = x.double().view(x.shape[0], k // group, group).sum(-1)  # exact sums of x: [M, G]
    out = (dots * scales.T).sum(-1) + sums @ zeros
    return out if bias is None else out + bias.double()


def _assert_close(out: Tensor, reference: Tensor) -> None:
    """float32 accumulation in a different order (~1e-6 relative), plus one rounding of the
    output to bfloat16 (2^-9 relative) when it is bfloat16."""
    rounding = 2**-8 if out.dtype == BF16 else 0.0
    scale = reference.abs().max()
    bound = 2e-5 * scale + rounding * reference.abs()
    assert ((out.double() - reference).abs() <= bound).all()


@needs_kernels
@pytest.mark.parametrize("rows", [*ROWS, 17, 40])  # 17 and 40: several passes of 16 rows
@pytest.mark.parametrize("dtype", [BF16, torch.float32])
@pytest.mark.parametrize("with_bias", [True, False])
def test_int8_op_equals_the_reference_with_rounded_activations(
    rows: int, dtype: torch.dtype, with_bias: bool
) -> None:
    generator = torch.Generator().manual_seed(rows)
    n, k = 48, 192
    weight = torch.randint(-127, 128, (n, k), dtype=torch.int8, generator=generator)
    scales = (torch.rand(n, generator=generator) * 0.01).to(dtype)
    bias = torch.randn(n, generator=generator).to(dtype) if with_bias else None
    x = torch.randn(rows, k, generator=generator).to(dtype)
    x[0, :32] = 0  # an all-zero block has scale 0
    out = kernels.int8_mm(x, weight, scales, bias)
    assert out.shape == (rows, n) and out.dtype == dtype
    _assert_close(out, _int8_reference(x, weight, scales, bias))


@needs_kernels
@pytest.mark.parametrize("rows", [*ROWS, 17])
@pytest.mark.parametrize("dtype", [BF16, torch.float32])
@pytest.mark.parametrize("group", [32, 64, 128])
def test_int4_op_equals_the_reference_with_rounded_activations(
    rows: int, dtype: torch.dtype, group: int
) -> None:
    generator = torch.Generator().manual_seed(rows + group)
    n, k = 32, 256
    codes, scales_and_zeros = quantize_int4(torch.randn(n, k, generator=generator), group, dtype)
    bias = torch.randn(n, generator=generator).to(dtype)
    x = torch.randn(rows, k, generator=generator).to(dtype)
    out = kernels.int4_mm(x, kernels.pack_int4(codes), scales_and_zeros, group, bias)
    assert out.shape == (rows, n) and out.dtype == dtype
    _assert_close(out, _int4_reference(x, codes, scales_and_zeros, group, bias))


def test_int4_tile_layout_round_trips() -> None:
    codes = torch.randint(0, 16, (48, 96), dtype=torch.int32)
    packed = kernels.pack_int4(codes)
    assert packed.shape == (48, 48) and packed.dtype == torch.uint8
    # Lane j of the first vector holds row j's codes 0..3 (low nibbles) and 4..7 (high).
    assert int(packed[0, 0]) == int(codes[0, 0]) | int(codes[0, 4]) << 4
    assert int(packed[0, 5]) == int(codes[1, 1]) | int(codes[1, 5]) << 4
    assert torch.equal(kernels.unpack_int4(packed), codes)


def _layer(
    bits: int, n: int, k: int, *, dtype: torch.dtype, group: int = 32
) -> Int8Linear | Int4Linear:
    torch.manual_seed(0)
    linear = nn.Linear(k, n)
    if bits == 8:
        return Int8Linear.from_linear(linear, compute_dtype=dtype)
    return Int4Linear.from_linear(linear, group_size=group, compute_dtype=dtype)


def _bias(layer: Int8Linear | Int4Linear) -> Tensor:
    assert layer.bias is not None
    return layer.bias.detach().float()


@needs_kernels
@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("dtype", [BF16, torch.float32])
@pytest.mark.parametrize("bits", [8, 4])
def test_layers_on_the_kernels_stay_near_their_dequantized_weight(
    rows: int, dtype: torch.dtype, bits: int
) -> None:
    layer = _layer(bits, 80, 192, dtype=dtype)
    assert layer.kernel == (TWINCORE_INT8 if bits == 8 else TWINCORE_INT4)
    x = torch.randn(2, rows, 192)  # leading batch dims; float32 input into a bf16 layer too
    out = layer(x)
    assert out.shape == (2, rows, 80) and out.dtype == x.dtype
    reference = F.linear(x.to(dtype).float(), layer.dequantize(), _bias(layer))
    # Rounding x to int8 per block errs by at most amax/254 per value, about 0.6% of x's RMS
    # for Gaussian blocks of 32 (amax ~ 2.5 RMS / (127 * sqrt(12))); outputs err alike.
    error = (out.float() - reference).norm() / reference.norm()
    assert error < 0.015


@needs_kernels
def test_the_int8_kernel_agrees_with_the_dequantized_path_above_its_row_limit() -> None:
    layer = _layer(8, 64, 128, dtype=BF16)
    x = torch.randn(quant_linear.TWINCORE_INT8_MAX_ROWS + 36, 128)
    many = layer(x)  # dequantize + matmul
    assert layer.kernel == TWINCORE_INT8
    one_by_one = torch.cat([layer(row[None]) for row in x[:4]])
    error = (many[:4] - one_by_one).norm() / one_by_one.norm()
    assert error < 0.015


@needs_kernels
def test_int4_rows_are_independent_of_how_many_share_a_call() -> None:
    layer = _layer(4, 64, 128, dtype=BF16)
    x = torch.randn(40, 128)  # passes of 16, 16 and 8 rows
    together = layer(x)
    alone = torch.cat([layer(row[None]) for row in x])
    assert torch.equal(together, alone)


@needs_kernels
@pytest.mark.parametrize(
    ("bits", "n", "k", "group", "path"),
    [
        (8, 24, 128, 32, INT8_KERNEL),  # N not a multiple of 16
        (8, 32, 96, 32, INT8_KERNEL),  # K not a multiple of 64
        (8, 16, 40, 32, DEQUANTIZE),  # K not a multiple of 16 either
        (4, 24, 128, 32, DEQUANTIZE),  # N not a multiple of 16
        (4, 32, 80, 32, DEQUANTIZE),  # K not a multiple of the group
        (4, 32, 96, 32, TWINCORE_INT4),  # int4 needs K % group only
    ],
)
def test_shapes_the_kernels_do_not_take_keep_the_other_paths(
    bits: int, n: int, k: int, group: int, path: str
) -> None:
    layer = _layer(bits, n, k, dtype=BF16, group=group)
    assert layer.kernel == path
    x = torch.randn(3, k)
    reference = F.linear(x.to(BF16).float(), layer.dequantize(), _bias(layer))
    assert (layer(x).float() - reference).norm() / reference.norm() < 0.015


@needs_kernels
def test_int4_layer_keeps_its_codes_and_file_layout() -> None:
    weight = torch.randn(48, 128)
    codes, scales_and_zeros = quantize_int4(weight, 32, BF16)
    layer = Int4Linear(
        codes, scales_and_zeros, None, in_features=128, group_size=32, compute_dtype=BF16
    )
    assert layer.kernel == TWINCORE_INT4
    assert torch.equal(layer.codes(), codes)
    assert torch.equal(layer.portable(), quant_linear.pack_nibbles(codes))


@needs_kernels
@pytest.mark.parametrize("bits", [8, 4])
def test_layers_fused_from_canonical_tensors_equal_the_parts(bits: int) -> None:
    # Fusing Q/K/V or gate/up concatenates the canonical tensors and constructs again.
    first, second = _layer(bits, 32, 128, dtype=BF16), _layer(bits, 48, 128, dtype=BF16)
    fused: Int8Linear | Int4Linear
    if isinstance(first, Int8Linear) and isinstance(second, Int8Linear):
        fused = Int8Linear(
            torch.cat((first.weight_int8, second.weight_int8)),
            torch.cat((first.scales, second.scales)),
            torch.cat((_bias(first), _bias(second))),
            compute_dtype=BF16,
        )
    else:
        assert isinstance(first, Int4Linear) and isinstance(second, Int4Linear)
        fused = Int4Linear(
            torch.cat((first.codes(), second.codes())),
            torch.cat((first.scales_and_zeros, second.scales_and_zeros), dim=1),
            torch.cat((_bias(first), _bias(second))),
            in_features=128,
            group_size=32,
            compute_dtype=BF16,
        )
    x = torch.randn(5, 128).to(BF16)
    assert torch.equal(fused(x), torch.cat((first(x), second(x)), dim=-1))


@needs_kernels
@pytest.mark.parametrize("bits", [8, 4])
def test_a_failing_kernel_falls_back_to_dequantizing(
    bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = _layer(bits, 64, 128, dtype=BF16)
    x = torch.randn(3, 128)
    expected = layer(x)

    def broken(*args: object) -> Tensor:
        raise RuntimeError("no kernel for you")

    monkeypatch.setattr(kernels, "int8_mm" if bits == 8 else "int4_mm", broken)
    out = layer(x)
    assert layer.kernel == DEQUANTIZE
    assert (out - expected).norm() / expected.norm() < 0.015
    if isinstance(layer, Int4Linear):  # its tile layout went back to the portable one
        assert layer.packed.shape == (64, 64)
        assert torch.equal(layer.codes(), quantize_int4(layer.dequantize(), 32, BF16)[0])


def test_the_build_caches_under_the_override_and_says_why_it_cannot_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWINCORE_KERNEL_CACHE", str(tmp_path))
    path = build.library_path()
    assert path.parent.parent == tmp_path and path.name == build.LIBRARY_NAME
    monkeypatch.setattr(build, "compiler", lambda: None)
    if build.unsupported_reason() is None:
        pytest.fail("a missing compiler must be a reason not to build")
    with pytest.raises(build.KernelBuildError):
        build.build()
    assert build.main() == 0
    note = capsys.readouterr().out
    assert note.startswith("twincore CPU kernels not built:") and note.count("\n") == 1


def test_kernels_switched_off_by_the_environment_leave_pytorchs_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWINCORE_KERNELS", "off")
    assert kernels._load() is False
    monkeypatch.setattr(quant_linear, "_twincore_usable", lambda device: False)
    assert _layer(8, 64, 128, dtype=BF16).kernel == INT8_KERNEL
