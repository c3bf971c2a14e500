"""The labelled-draft corpus of the style classifier: drafts the cores wrote, labelled by style.

Labelling rule: a generated draft is labelled with the style it was asked for, and kept only
when it scores at least `MIN_SCORE` on that style's checker (at least half its constraints)
and is not a duplicate; every candidate and revision of a run is a draft. Rows written by hand
(`provenance.source == "hand-written"`) fill styles the cores rarely get right. The topics
(`data/draft_topics.yaml`) differ from the evaluation's, so `eval writing` never scores a text
the classifier was trained on. The cores write the drafts in `evals.make_drafts`
(`twincore writing make-drafts`); this module keeps the rule and the corpus file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twincore.services.writing.evaluation.items import DATA, Job
from twincore.services.writing.generate.drafts import WritingResult
from twincore.services.writing.registry import load_styles

LABELLED = DATA / "labelled_drafts.jsonl"
DRAFT_TOPICS = DATA / "draft_topics.yaml"
MIN_SCORE = 0.5
HAND_WRITTEN = "hand-written"


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    """Rows {style, core, text, score, provenance}; `ValueError` naming a bad line."""
    if not path.is_file():
        return []
    styles = load_styles()
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name} line {number}: not JSON ({exc})") from exc
        if row.get("style") not in styles or not str(row.get("text", "")).strip():
            raise ValueError(f"{path.name} line {number}: needs a known style and a text")
        rows.append(row)
    return rows


def labelled_rows(
    results: Sequence[tuple[Job, WritingResult]], models: dict[str, str]
) -> list[dict[str, Any]]:
    """Every draft of the runs that meets the labelling rule, as corpus rows."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for job, result in results:
        for draft in result.drafts:
            text = draft.text.strip()
            if draft.report.score < MIN_SCORE or not text or text in seen:
                continue
            seen.add(text)
            rows.append(
                {
                    "style": job.item.style.id,
                    "core": job.core,
                    "text": text,
                    "score": draft.report.score,
                    "provenance": {
                        "source": "generated",
                        "model": models[job.core],
                        "mode": job.item.mode,
                        "topic": job.item.item_id,
                        "candidate": draft.candidate,
                        "revised": draft.revised,
                    },
                }
            )
    return rows


def merge_rows(
    existing: list[dict[str, Any]], new: list[dict[str, Any]], cores: Sequence[str]
) -> list[dict[str, Any]]:
    """Replace the generated rows of `cores` (same styles) by `new`; keep everything else."""
    styles = {r["style"] for r in new}
    kept = [
        r
        for r in existing
        if r.get("provenance", {}).get("source") == HAND_WRITTEN
        or r.get("core") not in cores
        or r["style"] not in styles
    ]
    texts = {r["text"] for r in kept}
    return kept + [r for r in new if r["text"] not in texts]


def write_labelled(rows: list[dict[str, Any]], path: Path = LABELLED) -> None:
    """Write the corpus (one JSON object a line, sorted by style then core), atomically."""
    order = list(load_styles())
    rows = sorted(rows, key=lambda r: (order.index(r["style"]), str(r.get("core"))))
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    temporary.replace(path)
