"""Peak RSS of a core's first (converting) and cached start, each in a fresh process."""

from __future__ import annotations

from pathlib import Path

from twincore.model_core.load_memory import measure_load_rss


def test_first_and_cached_start_are_measured_in_a_scratch_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"  # SmolLM2 is used in place from its package: nothing to link
    result = measure_load_rss("smollm2-135m-instruct", "int8", data_dir=data_dir)
    assert set(result) == {"first_load_peak_rss_mb", "load_peak_rss_mb"}
    # Python, torch and the 135M model's int8 weights (~160 MB) at the least; far below a GB.
    assert 200 < result["load_peak_rss_mb"] < 1500
    assert 200 < result["first_load_peak_rss_mb"] < 1500
    assert not data_dir.exists()  # the caller's data dir is only read
