"""What a writing run takes and gives: the task, each checked draft, the stream's events and
the result with the chosen draft (all JSON-ready through `as_dict` / `report_dict`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from twincore.platform.errors import Invalid
from twincore.services.writing.checkers import CheckReport
from twincore.services.writing.registry import Style

Mode = Literal["compose", "rewrite"]


@dataclass(frozen=True)
class WritingTask:
    """What to write: a topic to compose on, or a source text to rewrite, in a style."""

    style: Style
    mode: Mode
    prompt: str

    def __post_init__(self) -> None:
        if self.mode not in ("compose", "rewrite"):
            raise Invalid(f"mode must be 'compose' or 'rewrite', not {self.mode!r}", param="mode")
        if not self.prompt.strip():
            what = "topic" if self.mode == "compose" else "source text"
            raise Invalid(f"the {what} is empty", param="topic" if what == "topic" else "text")


@dataclass
class Draft:
    """One written text with its checker report (and similarity to the source for rewrites)."""

    candidate: int
    text: str
    report: CheckReport
    similarity: float | None
    revised: bool = False
    core: str | None = None
    completion_tokens: int = 0


@dataclass(frozen=True)
class WritingEvent:
    """What a run streams: reply text of a candidate, a checked draft, or the final result."""

    kind: Literal["text", "draft", "result"]
    candidate: int
    text: str = ""
    draft: Draft | None = None


@dataclass
class WritingResult:
    """The chosen draft, the style the classifier predicts for it, and every draft tried."""

    best: Draft
    predicted_style: str
    style_probability: float
    drafts: list[Draft] = field(default_factory=list)
    decision: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the text, its checker report, the prediction and the run's shape."""
        return {
            "text": self.best.text,
            "style": self.best.report.style_id,
            "report": report_dict(self.best.report),
            "predicted_style": self.predicted_style,
            "style_probability": round(self.style_probability, 4),
            "similarity": self.best.similarity,
            "revised": self.best.revised,
            "core": self.best.core,
            "candidates": len({d.candidate for d in self.drafts}),
            "drafts": [
                {"candidate": d.candidate, "revised": d.revised, "score": d.report.score}
                for d in self.drafts
            ],
        }


def report_dict(report: CheckReport) -> dict[str, Any]:
    """A checker report as JSON: overall score and each constraint with its reasons."""
    return {
        "score": report.score,
        "passed": report.passed,
        "constraints": [
            {
                "kind": r.kind,
                "description": r.description,
                "passed": r.passed,
                "reasons": list(r.reasons),
            }
            for r in report.results
        ],
    }
