"""The figures of one model's benchmark report that are derived from the measured ones.

`bench.bench_model` measures into a flat dict, with working entries (`_int8_streams`,
`_int8_spec`, greedy tokens) named with a leading underscore; `summarize` turns them into the
reported ratios against llama.cpp and the best modes, then drops them.
"""

from __future__ import annotations

from typing import Any

from twincore.model_core.config import ModelConfig
from twincore.model_core.info import count_parameters
from twincore.model_core.quant import QuantMode


def summarize(
    report: dict[str, Any], *, config: ModelConfig, modes: list[QuantMode], bandwidth_gbs: float
) -> None:
    """Best modes and the ratios the goals are stated in; drops the working entries."""
    counts = count_parameters(config)
    fp32_bytes = 4 * (counts["total_params"] + counts["mtp_params"])
    report.setdefault("engine_tokens_per_s", None)
    report.setdefault("ttft_s", report.get(f"{modes[0]}_ttft_s"))
    report.setdefault("ops_per_token", None)
    rates: dict[str, float] = {mode: report[f"{mode}_tokens_per_s"] for mode in modes}
    if report["engine_tokens_per_s"] is not None:
        rates["fp32"] = report["engine_tokens_per_s"]
    report["best_mode"] = max(rates, key=lambda mode: rates[mode])
    report["best_tokens_per_s"] = rates[report["best_mode"]]
    peer = report["llamacpp_tokens_per_s"]
    report["best_vs_llamacpp"] = report["best_tokens_per_s"] / peer if peer else None
    report["batch1_speedup_vs_hf"] = (
        report["engine_tokens_per_s"] / report["hf_tokens_per_s"]
        if report["engine_tokens_per_s"] and report["hf_tokens_per_s"]
        else None
    )
    if "int8" in modes:
        read = report["int8_tokens_per_s"] * report["int8_bytes_per_token"]
        report["bandwidth_fraction"] = read / (bandwidth_gbs * 1e9)
    else:
        report["bandwidth_fraction"] = None
        report["notes"].append("bandwidth_fraction: measured on int8 only, which did not run")
    _summarize_streams(modes, peer, report)
    _summarize_spec(modes, peer, report)
    greedy = report.pop("_llamacpp_greedy")
    ours = report.pop(f"_{modes[0]}_greedy")
    report["llamacpp_greedy_prefix_agreement"] = _agreement(greedy, ours) if greedy else None
    for mode in modes:
        report.pop(f"_{mode}_greedy", None)
        report.pop(f"_{mode}_spec", None)
        report.pop(f"_{mode}_streams")
        weights = report[f"{mode}_weight_bytes"]
        report[f"{mode}_weight_memory_ratio"] = weights / fp32_bytes
    report["weight_bytes_fp32"] = fp32_bytes


def _summarize_streams(modes: list[QuantMode], peer: float | None, report: dict[str, Any]) -> None:
    """The mode with the best aggregate at the largest stream count serves the streams figures."""
    top = max(report[f"_{modes[0]}_streams"])
    mode = max(modes, key=lambda m: report[f"_{m}_streams"][top][0])
    streams: dict[int, tuple[float, float]] = report[f"_{mode}_streams"]
    report["streams_mode"] = mode
    report["streams_tokens_per_s"] = {str(n): steady for n, (steady, _) in streams.items()}
    report["streams_wall_tokens_per_s"] = {str(n): wall for n, (_, wall) in streams.items()}
    eight = streams[8][0] if 8 in streams else None
    report["stream8_tokens_per_s"] = eight
    report["streams_vs_llamacpp_batch1"] = eight / peer if eight and peer else None
    sixteen = streams[16][0] if 16 in streams else None
    report["stream16_tokens_per_s"] = sixteen
    report["stream16_vs_stream1"] = sixteen / streams[1][0] if sixteen and 1 in streams else None


def _summarize_spec(modes: list[QuantMode], peer: float | None, report: dict[str, Any]) -> None:
    measured = {m: report[f"_{m}_spec"] for m in modes if f"_{m}_spec" in report}
    if not measured:
        report.update(spec_tokens_per_s=None, spec_acceptance=None, spec_vs_llamacpp=None)
        return
    mode = max(measured, key=lambda m: measured[m]["tokens_per_s"])
    best = measured[mode]
    report["spec_mode"] = mode
    report["spec_draft"] = best["draft"]
    report["spec_tokens_per_s"] = best["tokens_per_s"]
    report["spec_acceptance"] = best["acceptance"]
    report["spec_tokens_per_verify"] = best["tokens_per_verify"]
    report["spec_vs_llamacpp"] = best["tokens_per_s"] / peer if peer else None
    report["spec_matches_plain_greedy"] = all(s["matches_plain_greedy"] for s in measured.values())
    report["spec_by_mode"] = {m: s["tokens_per_s"] for m, s in measured.items()}


def _agreement(theirs: list[int], ours: list[int]) -> int:
    """Leading greedy tokens llama.cpp and our first quantized mode agree on."""
    same = 0
    for a, b in zip(theirs, ours, strict=False):
        if a != b:
            break
        same += 1
    return same
