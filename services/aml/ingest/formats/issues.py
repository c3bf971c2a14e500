"""Validation problems found while reading a file, and the one error that rejects the file whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twincore.platform.errors import Invalid

MAX_LISTED_ISSUES = 50
"""An error lists at most this many problems (the first by line) and counts the rest."""


@dataclass(frozen=True)
class Issue:
    """One problem: which file, which line (1-based, the header is line 1; 0 = the whole file)."""

    file: str
    line: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}

    def __str__(self) -> str:
        where = f"{self.file}" if self.line == 0 else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


class IngestError(Invalid):
    """A file was rejected whole: nothing of it was stored. The API answers 422 with the listed
    problems as the error's `details` (`as_dict()`)."""

    def __init__(self, issues: list[Issue], total: int | None = None) -> None:
        self.issues = issues[:MAX_LISTED_ISSUES]
        self.total = max(total if total is not None else len(issues), len(self.issues))
        shown = "; ".join(str(issue) for issue in self.issues[:5])
        more = f" (and {self.total - 5} more)" if self.total > 5 else ""
        super().__init__(f"rejected: {self.total} problem(s): {shown}{more}")
        self.details = self.as_dict()

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses Ray with its issues (the family's own pickling keeps only the message).
        return (type(self), (self.issues, self.total))

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "total": self.total,
            "issues": [issue.as_dict() for issue in self.issues],
        }


@dataclass
class IssueCollector:
    """Gathers problems over a streamed file; keeps the first MAX_LISTED_ISSUES by line and a
    total count, so a file with a million bad lines costs no memory to reject."""

    file: str
    total: int = 0
    _kept: list[Issue] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        self.total += 1
        self._kept.append(Issue(self.file, line, reason))
        self._trim()

    def add_rows(
        self, lines: np.ndarray, mask: np.ndarray, reason: str, values: Any = None
    ) -> None:
        """Record `reason` for every line where `mask` holds; `values` (aligned with `lines`)
        are quoted in the reason so the user sees what was wrong."""
        bad = np.flatnonzero(mask)
        if len(bad) == 0:
            return
        self.total += len(bad)
        if values is not None:
            values = np.asarray(values, dtype=object)  # positions, whatever a Series' index is
        for i in bad[:MAX_LISTED_ISSUES]:
            detail = reason if values is None else f"{reason}: {_quote(values[i])}"
            self._kept.append(Issue(self.file, int(lines[i]), detail))
        self._trim()

    def _trim(self) -> None:
        if len(self._kept) > 2 * MAX_LISTED_ISSUES:
            self._kept.sort(key=lambda issue: issue.line)
            del self._kept[MAX_LISTED_ISSUES:]

    @property
    def issues(self) -> list[Issue]:
        return sorted(self._kept, key=lambda issue: issue.line)[:MAX_LISTED_ISSUES]

    def __bool__(self) -> bool:
        return self.total > 0


def raise_if_any(*collectors: IssueCollector) -> None:
    """Raise one IngestError carrying every collector's problems, or return when there are none."""
    total = sum(c.total for c in collectors)
    if total == 0:
        return
    issues = [issue for c in collectors for issue in c.issues]
    raise IngestError(issues, total)


def _quote(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")
