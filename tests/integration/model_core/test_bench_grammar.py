"""`twincore bench grammar`'s measurement on the tests' fast model: a JSON-schema answer that
parses, mask time counted, compiling the same schema twice compiles once."""

from __future__ import annotations

from pathlib import Path

from twincore.model_core.bench_grammar import measure_grammar


def test_measure_grammar_reports_a_valid_constrained_answer(session_data_dir: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    report = measure_grammar(
        data_dir=session_data_dir, new_tokens=40, repeats=1, streams=2, schema=schema
    )
    assert report["output_is_json"] is True
    assert report["constrained_finish_reason"] == "stop"
    assert report["mask_ms_per_token"] > 0
    assert 0 < report["mask_share_of_step"] < 1
    assert report["cached_compile_ms"] < report["compile_ms"]
