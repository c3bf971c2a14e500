"""`eval support` as the CLI runs it: a fresh Northwind graph, the platform's set-up, each row
streamed to the row log as it is scored, the report saved under the data dir."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from twincore.platform.evals.local import read_rows
from twincore.platform.settings import Settings
from twincore.services.support import evals
from twincore.services.support.eval.scoring import Question

QUESTIONS = [
    Question(
        0,
        "How many customers are in Germany?",
        "MATCH (c:Customer) WHERE c.country = 'Germany' RETURN count(c)",
        "Simple Aggregation",
    ),
    Question(1, "List all shippers.", "MATCH (s:Shipper) RETURN s.companyName", "Retrieval"),
]


def test_rows_stream_to_the_row_log_and_the_report_is_saved(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    asked: list[tuple[str, ...]] = []

    @contextmanager
    def no_cores(_settings: Settings, names: Sequence[str]) -> Iterator[object]:
        asked.append(tuple(names))
        yield object()

    def stand_in(_router: object, service: str, names: Sequence[str], *_: Any) -> dict[str, Any]:
        assert service == "support"
        # Each reply twice: the first rung writes two candidates (cypher/cascade.py).
        replies = [
            "MATCH (c:Customer {country: 'Germany'}) RETURN count(*) AS n",
            "MATCH (c:Customer {country: 'Germany'}) RETURN count(*) AS n",
            "MATCH (s:Shipper) RETURN s.phone",
            "MATCH (s:Shipper) RETURN s.phone",
        ]
        return {name: FakeListChatModel(responses=replies) for name in names}

    monkeypatch.setattr(evals, "local_router_sync", no_cores)
    monkeypatch.setattr(evals, "service_models", stand_in)
    done: list[int] = []
    report, path = evals.run_support_eval(
        settings, QUESTIONS, name="unit", core="swift", on_done=lambda: done.append(1)
    )
    assert asked == [("swift",)] and len(done) == 2
    assert path == settings.data_dir / "evals" / "support-unit.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["execution_accuracy"] == 0.5 and saved["created_at"]
    rows = read_rows(settings.data_dir / "evals" / "support-unit.rows.jsonl")
    assert [(r["core"], r["index"], r["correct"]) for r in rows] == [
        ("swift", 0, True),
        ("swift", 1, False),
    ]
    assert report["rows_file"].endswith("support-unit.rows.jsonl")
    with pytest.raises(ValueError, match="swift, deep, both or cascade"):
        evals.run_support_eval(settings, QUESTIONS, name="unit", core="auto")
