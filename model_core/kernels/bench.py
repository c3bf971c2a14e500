"""Benchmark of the weight-only kernels against PyTorch's aten kernels and dequantize + matmul.

Not a test: numbers depend on the machine and its load. Weights rotate over enough copies that
each call reads them from memory, not from the last-level cache, as a decode step does (it
streams the whole model once per token); the dequantize path, bound by its arithmetic, uses one.
Rates are the best of `repeats` rounds; GB/s counts the quantized weight bytes with scales.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the universal alias)
from torch import Tensor

from twincore.model_core import kernels
from twincore.model_core.quant_linear import quantize_int4

SHAPES = ((1536, 1536), (8960, 1536), (1536, 8960), (896, 4864))
"""(N, K): Qwen2.5-1.5B attention and MLP up and down, Qwen2.5-0.5B MLP down."""
ROWS = (1, 4, 8, 16)
BF16 = torch.bfloat16


def kernel_bench(
    *,
    shapes: tuple[tuple[int, int], ...] = SHAPES,
    rows: tuple[int, ...] = ROWS,
    group_size: int = 32,
    repeats: int = 5,
    cold_megabytes: int = 512,
    threads: int | None = 2,
) -> dict[str, Any]:
    """ms per call (wall and process CPU time) and GB/s of weight bytes read (wall), per shape,
    mode, row count and path:
    `twincore` (these kernels), `aten` (`_weight_int8pack_mm` / `_weight_int4pack_mm_for_cpu`)
    and `dequantize` (dequantize to bf16 + F.linear, as the fallback path does)."""
    from twincore.model_core import bench_measure  # lazily: it imports the engine

    if threads is not None:
        torch.set_num_threads(threads)
    results: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "memory_bandwidth_gbs": bench_measure.memory_bandwidth_gbs(),
        "kernels_available": kernels.available(),
        "group_size": group_size,
        "shapes": {},
    }
    for n, k in shapes:
        weight = torch.randn(n, k) * 0.02
        per_mode = {
            "int8": _int8_paths(weight, cold_megabytes),
            "int4": _int4_paths(weight, group_size, cold_megabytes),
        }
        entry: dict[str, Any] = {}
        for mode, (paths, weight_bytes) in per_mode.items():
            entry[mode] = {"weight_bytes": weight_bytes}
            for m in rows:
                x = torch.randn(m, k).to(BF16)
                timings = {}
                for name, call in paths.items():
                    seconds, cpu_seconds = _best_seconds(call, x, repeats)
                    timings[name] = {
                        "ms": round(seconds * 1e3, 4),
                        "gbs": round(weight_bytes / seconds / 1e9, 2),
                        "cpu_ms": round(cpu_seconds * 1e3, 4),
                    }
                entry[mode][f"m{m}"] = timings
        results["shapes"][f"{n}x{k}"] = entry
    return results


Call = Callable[[Tensor, int], Tensor]
"""A path: (x [M, K] bf16, which weight copy) -> [M, N]."""


def _copies(weight_bytes: int, cold_megabytes: int) -> int:
    return max(1, math.ceil(cold_megabytes * 2**20 / weight_bytes))


def _int8_paths(weight: Tensor, cold_megabytes: int) -> tuple[dict[str, Call], int]:
    n, k = weight.shape
    scales = (weight.abs().amax(dim=1) / 127).to(BF16)  # [N]
    codes = (weight / scales.float()[:, None]).round().clamp(-127, 127).to(torch.int8)
    weight_bytes = codes.numel() + scales.numel() * 2
    copies = [codes.clone() for _ in range(_copies(weight_bytes, cold_megabytes))]
    paths: dict[str, Call] = {
        "aten": lambda x, i: torch.ops.aten._weight_int8pack_mm(x, copies[i], scales),
        "dequantize": lambda x, i: F.linear(x, codes.to(BF16) * scales[:, None]),
    }
    if kernels.available() and kernels.int8_fits(n, k):
        paths["twincore"] = lambda x, i: kernels.int8_mm(x, copies[i], scales, None)
    return _rotating(paths, len(copies)), weight_bytes


def _int4_paths(weight: Tensor, group: int, cold_megabytes: int) -> tuple[dict[str, Call], int]:
    n, k = weight.shape
    codes, scales_and_zeros = quantize_int4(weight, group, BF16)  # [N, K], [K/group, N, 2]
    weight_bytes = codes.numel() // 2 + scales_and_zeros.numel() * 2
    count = _copies(weight_bytes, cold_megabytes)
    aten_packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
    aten = [aten_packed.clone() for _ in range(count)]
    codes_u8 = codes.to(torch.uint8)  # [N, K]
    scales, zeros = scales_and_zeros.permute(1, 0, 2).unbind(-1)  # [N, K/group]

    def dequantize(x: Tensor, i: int) -> Tensor:
        grouped = codes_u8.view(n, k // group, group).to(BF16)
        deq = ((grouped - 8) * scales[..., None] + zeros[..., None]).view(n, k)
        return F.linear(x, deq)

    paths: dict[str, Call] = {
        "aten": lambda x, i: torch.ops.aten._weight_int4pack_mm_for_cpu(
            x, aten[i], group, scales_and_zeros
        ),
        "dequantize": dequantize,
    }
    if kernels.available() and kernels.int4_fits(n, k, group):
        ours = [kernels.pack_int4(codes) for _ in range(count)]
        paths["twincore"] = lambda x, i: kernels.int4_mm(x, ours[i], scales_and_zeros, group, None)
    return _rotating(paths, count), weight_bytes


def _rotating(paths: dict[str, Call], copies: int) -> dict[str, Call]:
    """Each path with its number of weight copies, so a round visits every copy once; the
    dequantize path is bound by its arithmetic, not by memory, and runs on the first only."""
    return {
        name: _CopyCount(call, 1 if name == "dequantize" else copies)
        for name, call in paths.items()
    }


class _CopyCount:
    def __init__(self, call: Call, copies: int) -> None:
        self.call, self.copies = call, copies

    def __call__(self, x: Tensor, i: int) -> Tensor:
        return self.call(x, i)


def _best_seconds(call: Call, x: Tensor, repeats: int) -> tuple[float, float]:
    """Best over `repeats` rounds of the mean wall and process CPU seconds per call (CPU time,
    all threads, is the steadier of the two on a shared machine), each call on another copy."""
    copies = call.copies if isinstance(call, _CopyCount) else 1
    with torch.inference_mode():
        call(x, 0)  # warm-up (first-touch, lazy init)
        best, best_cpu = float("inf"), float("inf")
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            for i in range(copies):
                call(x, i)
            best = min(best, (time.perf_counter() - started) / copies)
            best_cpu = min(best_cpu, (time.process_time() - cpu_started) / copies)
    return best, best_cpu
