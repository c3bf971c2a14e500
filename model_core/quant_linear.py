"""Weight-only quantized replacements for nn.Linear: per-row int8 and group-wise asymmetric int4.

Three compute paths, chosen per layer at construction (`kernel`):
- twincore's CPU kernels (twincore.model_core.kernels: AVX-512 VNNI, each weight byte read once
  per call, activations rounded to int8 per block) where the library loads and the shape fits;
- else PyTorch's CPU weight-only kernels where they apply;
- else dequantize + F.linear (any device).
Activations are cast to the layer's compute dtype (twincore's kernels take float32 and bfloat16
as they come) and the result back to the input dtype; bfloat16 is the dtype that makes the aten
kernels fast (fp32 activations are slower through them than an fp32 matmul).

Conventions, checked numerically in tests/unit/model_core/test_quant.py:
- int8: w[n, k] = q[n, k] * scale[n], q in [-127, 127];
  `aten._weight_int8pack_mm(x [M, K], q [N, K] int8, scale [N]) -> [M, N]` in x's dtype.
- int4: w[n, k] = (q[n, k] - 8) * scale[g, n] + zero[g, n] with g = k // group and q in [0, 15],
  so zero = min + 8 * scale (the tinygemm convention); `scales_and_zeros` is [K/group, N, 2]
  in the activation dtype. `aten._convert_weight_to_int4pack_for_cpu(q [N, K] int32, 1)` packs
  q into a layout that depends on the CPU (AVX512, AVX2 or scalar), so files hold a portable
  layout instead: uint8 [N, K/2], even k in the low nibble. twincore's int4 kernel packs its
  own tile layout (`kernels.pack_int4`); its int8 kernel reads `weight_int8` as it is.
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F  # noqa: N812 (the universal alias)
from torch import Tensor, nn

from twincore.model_core import kernels

logger = logging.getLogger(__name__)

INT8_KERNEL = "int8pack_mm"
INT4_KERNEL = "int4pack_mm_for_cpu"
DEQUANTIZE = "dequantize"
TWINCORE_INT8 = "twincore_int8"
TWINCORE_INT4 = "twincore_int4"
TWINCORE_KERNELS = (TWINCORE_INT8, TWINCORE_INT4)
TWINCORE_INT8_MAX_ROWS = 256
"""Rows up to which the twincore int8 kernel runs (in passes of 16 rows, each reading the
weight once); above, dequantizing once and the dense bf16 matmul. Measured for 8960x1536 on
2 busy threads: the kernel 49 vs 141 ms at 128 rows and 189 vs 530 ms at 512; quiet, the
dense path took ~36 ms at 512 rows, about 32 kernel passes, so the two meet near 512.
The int4 kernel runs at any row count: dequantizing int4 costs far more (~400 ms here)."""
INT4_GROUP_SIZES = (32, 64, 128, 256)
"""Group sizes the CPU int4 kernel accepts."""
DEQUANTIZE_ABOVE_ROWS = 32
"""Measured (2 threads, bf16): the int8 kernel wins at one row (0.36 vs 1.04 ms for 8960x1536)
but loses from ~64 rows on (97 vs 36 ms at 512 rows), where dequantizing once and running the
dense matmul is faster; the int4 kernel has no cheap dequantization, so it always runs."""
_UNPACK_ROWS = 256
"""Rows probed at a time when unpacking the int4 kernel layout (a multiple of its row blocks)."""


_ATEN_KERNELS = (INT8_KERNEL, INT4_KERNEL)


def _kernel_usable(name: str, device: torch.device) -> bool:
    return device.type == "cpu" and hasattr(torch.ops.aten, name)


def _twincore_usable(device: torch.device) -> bool:
    return device.type == "cpu" and kernels.available()


class _WeightOnlyLinear(nn.Module):
    """Shared forward of the quantized linears: kernel when it applies, else dequantize."""

    in_features: int
    out_features: int
    compute_dtype: torch.dtype
    kernel: str
    bias: nn.Parameter | None

    def dequantize(self, dtype: torch.dtype = torch.float32) -> Tensor:
        raise NotImplementedError

    def _kernel_applies(self, rows: int) -> bool:
        raise NotImplementedError

    def _call_kernel(self, flat: Tensor) -> Tensor:
        raise NotImplementedError

    def _disable_kernel(self) -> None:
        self.kernel = DEQUANTIZE

    def _call_twincore(self, flat: Tensor) -> Tensor:
        raise NotImplementedError

    def _twincore_applies(self, rows: int) -> bool:
        return rows > 0

    def forward(self, x: Tensor) -> Tensor:
        # x: [..., K] -> [..., N]
        if self.kernel in TWINCORE_KERNELS and x.device.type == "cpu":
            flat = x.reshape(-1, self.in_features)  # [M, K]
            if self._twincore_applies(flat.shape[0]):
                if x.dtype not in (torch.float32, torch.bfloat16):
                    flat = flat.to(self.compute_dtype)
                try:
                    result = self._call_twincore(flat.contiguous())  # bias included
                except RuntimeError as exc:
                    logger.warning("%s failed (%s); dequantizing from now on", self.kernel, exc)
                    self._disable_kernel()
                else:
                    if result.dtype != x.dtype:
                        result = result.to(x.dtype)
                    return result.reshape(*x.shape[:-1], self.out_features)
        flat = x.reshape(-1, self.in_features).to(self.compute_dtype)  # [M, K]
        out: Tensor | None = None
        if self.kernel in _ATEN_KERNELS and self._kernel_applies(flat.shape[0]):
            flat = flat.contiguous()
            if flat.data_ptr() % 64:
                # The CPU kernels use aligned vector loads and crash on data that is not 64-byte
                # aligned (a view into the middle of a buffer); a copy is aligned.
                flat = flat.clone()
            try:
                out = self._call_kernel(flat)
            except RuntimeError as exc:
                logger.warning("%s failed (%s); dequantizing from now on", self.kernel, exc)
                self._disable_kernel()
        if out is None:
            out = F.linear(flat, self.dequantize(self.compute_dtype))
        if self.bias is not None:
            out = out + self.bias
        return out.to(x.dtype).reshape(*x.shape[:-1], self.out_features)


class Int8Linear(_WeightOnlyLinear):
    """y = x W^T + b with W stored as int8 [N, K] and one scale per output row."""

    weight_int8: Tensor
    scales: Tensor

    def __init__(
        self,
        weight_int8: Tensor,
        scales: Tensor,
        bias: Tensor | None,
        *,
        compute_dtype: torch.dtype,
    ) -> None:
        # weight_int8: [N, K] int8; scales: [N]; bias: [N] or None
        super().__init__()
        self.out_features, self.in_features = weight_int8.shape
        self.compute_dtype = compute_dtype
        self.register_buffer("weight_int8", weight_int8)
        self.register_buffer("scales", scales.to(compute_dtype))
        self.bias = (
            None if bias is None else nn.Parameter(bias.to(compute_dtype), requires_grad=False)
        )
        # The bf16 aten kernel returns wrong sums or crashes when K is not a multiple of 16.
        usable = _kernel_usable("_weight_int8pack_mm", weight_int8.device)
        self.kernel = INT8_KERNEL if usable and self.in_features % 16 == 0 else DEQUANTIZE
        if kernels.int8_fits(*weight_int8.shape) and _twincore_usable(weight_int8.device):
            self.kernel = TWINCORE_INT8

    @classmethod
    def from_linear(cls, linear: nn.Linear, *, compute_dtype: torch.dtype) -> Int8Linear:
        """Quantize symmetrically per output row against the scale as stored (compute dtype)."""
        weight = linear.weight.detach().float()  # [N, K]
        scales = (weight.abs().amax(dim=1) / 127).clamp(min=1e-10).to(compute_dtype)
        q = (weight / scales.float()[:, None]).round().clamp(-127, 127).to(torch.int8)
        bias = None if linear.bias is None else linear.bias.detach()
        layer = cls(q, scales, bias, compute_dtype=compute_dtype)
        logger.debug("int8 %dx%d: %s", layer.out_features, layer.in_features, layer.kernel)
        return layer

    def dequantize(self, dtype: torch.dtype = torch.float32) -> Tensor:
        """The weight the layer computes with: [N, K] in dtype."""
        return self.weight_int8.to(dtype) * self.scales.to(dtype)[:, None]

    def _kernel_applies(self, rows: int) -> bool:
        return 0 < rows <= DEQUANTIZE_ABOVE_ROWS  # larger batches: dequantize + bf16 GEMM wins

    def _call_kernel(self, flat: Tensor) -> Tensor:
        out: Tensor = torch.ops.aten._weight_int8pack_mm(flat, self.weight_int8, self.scales)
        return out

    def _twincore_applies(self, rows: int) -> bool:
        return 0 < rows <= TWINCORE_INT8_MAX_ROWS

    def _call_twincore(self, flat: Tensor) -> Tensor:
        return kernels.int8_mm(flat, self.weight_int8, self.scales, self.bias)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, path={self.kernel}"


class Int4Linear(_WeightOnlyLinear):
    """y = x W^T + b with W stored as 4-bit codes, one scale and zero per group of K columns.

    `packed` holds the layout of the kernel that runs (twincore's tiles or aten's CPU layout,
    both [N, K/2]), else the portable one [N, Kp/2] (Kp = K rounded up to whole groups; the
    padding columns are never used).
    """

    packed: Tensor
    scales_and_zeros: Tensor

    def __init__(
        self,
        codes: Tensor,
        scales_and_zeros: Tensor,
        bias: Tensor | None,
        *,
        in_features: int,
        group_size: int,
        compute_dtype: torch.dtype,
    ) -> None:
        # codes: [N, Kp] int in [0, 15]; scales_and_zeros: [Kp/group, N, 2]; bias: [N] or None
        super().__init__()
        self.out_features, self.in_features = codes.shape[0], in_features
        self.group_size, self.compute_dtype = group_size, compute_dtype
        usable = (
            _kernel_usable("_weight_int4pack_mm_for_cpu", codes.device)
            and group_size in INT4_GROUP_SIZES
            and in_features % group_size == 0
            and self.out_features % 16 == 0  # the packing routine's requirement
        )
        self.kernel = INT4_KERNEL if usable else DEQUANTIZE
        ours = codes.shape[1] == in_features and kernels.int4_fits(
            self.out_features, in_features, group_size
        )
        if ours and _twincore_usable(codes.device):
            self.kernel = TWINCORE_INT4
        if self.kernel == TWINCORE_INT4:
            packed = kernels.pack_int4(codes)
        elif self.kernel == INT4_KERNEL:
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(
                codes.to(torch.int32).contiguous(), 1
            )
        else:
            packed = pack_nibbles(codes)
        self.register_buffer("packed", packed)
        self.register_buffer("scales_and_zeros", scales_and_zeros.to(compute_dtype).contiguous())
        self.bias = (
            None if bias is None else nn.Parameter(bias.to(compute_dtype), requires_grad=False)
        )

    @classmethod
    def from_linear(
        cls, linear: nn.Linear, *, group_size: int = 128, compute_dtype: torch.dtype
    ) -> Int4Linear:
        """Quantize each row's groups of `group_size` input columns to [min, max] in 16 steps."""
        codes, scales_and_zeros = quantize_int4(linear.weight.detach(), group_size, compute_dtype)
        bias = None if linear.bias is None else linear.bias.detach()
        layer = cls(
            codes,
            scales_and_zeros,
            bias,
            in_features=linear.in_features,
            group_size=group_size,
            compute_dtype=compute_dtype,
        )
        logger.debug("int4 %dx%d: %s", layer.out_features, layer.in_features, layer.kernel)
        return layer

    def codes(self) -> Tensor:
        """The 4-bit codes [N, Kp] as int32, whatever layout `packed` is in."""
        if self.kernel == TWINCORE_INT4:
            return kernels.unpack_int4(self.packed)
        if self.kernel == INT4_KERNEL:
            return unpack_kernel_layout(self.packed, self.out_features, self.in_features)
        return unpack_nibbles(self.packed)

    def portable(self) -> Tensor:
        """The codes in the file layout: uint8 [N, Kp/2], even columns in the low nibble."""
        return self.packed if self.kernel == DEQUANTIZE else pack_nibbles(self.codes())

    def dequantize(self, dtype: torch.dtype = torch.float32) -> Tensor:
        """The weight the layer computes with: [N, K] in dtype."""
        codes = self.codes()  # [N, Kp]
        n, padded = codes.shape
        grouped = codes.view(n, padded // self.group_size, self.group_size).to(dtype)
        scales, zeros = self.scales_and_zeros.to(dtype).permute(1, 0, 2).unbind(-1)  # [N, G]
        weight = (grouped - 8) * scales[..., None] + zeros[..., None]
        return weight.view(n, padded)[:, : self.in_features]

    def _kernel_applies(self, rows: int) -> bool:
        return rows > 0

    def _call_kernel(self, flat: Tensor) -> Tensor:
        out: Tensor = torch.ops.aten._weight_int4pack_mm_for_cpu(
            flat, self.packed, self.group_size, self.scales_and_zeros
        )
        return out

    def _call_twincore(self, flat: Tensor) -> Tensor:
        return kernels.int4_mm(flat, self.packed, self.scales_and_zeros, self.group_size, self.bias)

    def _disable_kernel(self) -> None:
        self.packed = pack_nibbles(self.codes())  # read the kernel layout before the path changes
        self.kernel = DEQUANTIZE

    def extra_repr(self) -> str:
        return (
            f"in={self.in_features}, out={self.out_features}, group={self.group_size}, "
            f"path={self.kernel}"
        )


def int4_group_for(in_features: int, preferred: int) -> int:
    """The group size a layer runs with: `preferred`, or when it does not divide `in_features`
    the largest kernel group size below it that does (SmolLM2's K = 576 takes 64 for 128), so
    the layer keeps the kernel; `preferred` itself (dequantize path) when none does."""
    for size in sorted(INT4_GROUP_SIZES, reverse=True):
        if size <= preferred and in_features % size == 0:
            return size
    return preferred


def quantize_int4(weight: Tensor, group_size: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """weight [N, K] -> codes int32 [N, Kp] in [0, 15], scales_and_zeros [Kp/group, N, 2] dtype.

    A last partial group is padded by repeating the row's last value, so the padding never
    widens the group's range. Codes are chosen against scale and zero as rounded to `dtype`.
    """
    n, k = weight.shape
    padded = math.ceil(k / group_size) * group_size
    w = weight.float()
    if padded != k:
        w = torch.cat((w, w[:, -1:].expand(n, padded - k)), dim=1)
    groups = w.view(n, padded // group_size, group_size)  # [N, G, group]
    low, high = groups.amin(dim=-1), groups.amax(dim=-1)  # [N, G]
    scales = ((high - low) / 15).clamp(min=1e-10)
    zeros = (low + 8 * scales).to(dtype).float()
    scales = scales.to(dtype).float()
    codes = ((groups - zeros[..., None]) / scales[..., None]).round().add(8).clamp(0, 15)
    scales_and_zeros = torch.stack((scales, zeros), dim=-1).transpose(0, 1).to(dtype)
    return codes.to(torch.int32).view(n, padded), scales_and_zeros.contiguous()


def pack_nibbles(codes: Tensor) -> Tensor:
    """codes [N, K] in [0, 15] (K even) -> uint8 [N, K/2], even columns in the low nibble."""
    small = codes.to(torch.uint8)
    return (small[:, 0::2] | (small[:, 1::2] << 4)).contiguous()


def unpack_nibbles(packed: Tensor) -> Tensor:
    """uint8 [..., B] -> int32 [..., 2B], low nibble first (inverse of `pack_nibbles`)."""
    return torch.stack((packed & 15, packed >> 4), dim=-1).flatten(-2).to(torch.int32)


def unpack_kernel_layout(packed: Tensor, rows: int, cols: int) -> Tensor:
    """The CPU kernel's packed int4 weight -> codes int32 [rows, cols].

    The layout differs by CPU, so rather than mirror each variant we ask the packing routine
    itself where every code goes (packing index digits, four bits at a time) and invert that.
    It packs rows in independent blocks, so the map of one 256-row slice serves them all; a
    final repack checks the result.
    """
    codes = torch.empty(rows, cols, dtype=torch.int32)
    sources: dict[int, Tensor] = {}
    for start in range(0, rows, _UNPACK_ROWS):
        count = min(_UNPACK_ROWS, rows - start)
        if count not in sources:
            sources[count] = _kernel_sources(count, cols)
        flat = torch.empty(count * cols, dtype=torch.int32)
        flat[sources[count]] = unpack_nibbles(packed[start : start + count]).flatten()
        codes[start : start + count] = flat.view(count, cols)
    repacked = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
    if not torch.equal(repacked, packed):
        raise RuntimeError("the int4 kernel layout could not be inverted on this CPU")
    return codes


def _kernel_sources(rows: int, cols: int) -> Tensor:
    """For each code position of the kernel layout of a [rows, cols] matrix, the flat index
    (row * cols + col) of the weight it holds: int64 [rows * cols]."""
    index = torch.arange(rows * cols, dtype=torch.int64)
    sources = torch.zeros_like(index)
    shift = 0
    while shift == 0 or (rows * cols - 1) >> shift:
        digits = ((index >> shift) & 15).to(torch.int32).view(rows, cols)
        packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(digits, 1)
        sources |= unpack_nibbles(packed).flatten().to(torch.int64) << shift
        shift += 4
    return sources
