"""What a writing run takes and gives: the task, each checked draft, the stream's events and
the result with the chosen draft, its status (`met` or `unmet`) and the escalation's `twincore`
block (all JSON-ready through `as_dict` / `report_dict`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from twincore.platform.errors import Invalid
from twincore.services.writing.checkers import CheckReport
from twincore.services.writing.registry import Style

Mode = Literal["compose", "rewrite"]
Status = Literal["met", "unmet"]
"""`met`: the checker accepted the text; `unmet`: the best text still fails a constraint (it is
shown with its report, never as a finished piece)."""


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
    """Written on a `repair` rung (shown the previous text and the checker's reasons)."""
    core: str | None = None
    completion_tokens: int = 0
    step: str = "first"
    """The escalation rung that wrote it: first, more, repair or other."""
    attempt: int = 0
    """Which attempt of the run (0-based): candidates restart at 0 on every attempt."""
    decision: dict[str, Any] | None = None
    """The router's decision for this reply."""


@dataclass(frozen=True)
class WritingEvent:
    """What a run streams: reply text of a candidate, a checked draft, or the final result."""

    kind: Literal["text", "draft", "attempt", "result"]
    candidate: int
    text: str = ""
    draft: Draft | None = None
    attempt: int = 0
    step: str = "first"
    twincore: dict[str, Any] | None = None
    """`attempt` events: the escalation so far; `result`: the whole `twincore` block."""
    core: str | None = None
    """`text` events: the core writing, when known before the reply ends (None while the
    router is choosing it for `auto`)."""


@dataclass
class WritingResult:
    """The chosen draft, the style the classifier predicts for it, every draft tried and the
    escalation that chose it (`twincore`: core, verdict, escalated, attempts, decision)."""

    best: Draft
    predicted_style: str
    style_probability: float
    drafts: list[Draft] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    twincore: dict[str, Any] | None = None

    @property
    def status(self) -> Status:
        return "met" if self.best.report.passed else "unmet"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the text, its checker report, the prediction and the run's shape."""
        return {
            "status": self.status,
            "text": self.best.text,
            "style": self.best.report.style_id,
            "report": report_dict(self.best.report),
            "predicted_style": self.predicted_style,
            "style_probability": round(self.style_probability, 4),
            "similarity": self.best.similarity,
            "revised": self.best.revised,
            "core": self.best.core,
            "candidates": len({d.candidate for d in self.drafts}),
            "drafts": [draft_summary(d) for d in self.drafts],
            "twincore": self.twincore,
        }


def draft_summary(draft: Draft) -> dict[str, Any]:
    """A tried draft in a result's list: which attempt and candidate, on which core, its score."""
    return {
        "attempt": draft.attempt,
        "step": draft.step,
        "candidate": draft.candidate,
        "revised": draft.revised,
        "core": draft.core,
        "score": draft.report.score,
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
