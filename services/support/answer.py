"""What a support answer carries: the text, the Cypher that ran, the rows and their citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """`[index]` in the answer text points at the graph node `label` with id `key`."""

    index: int
    label: str
    key: str


@dataclass
class Answer:
    """A grounded answer; `resolved` is False when nothing (valid) was found."""

    text: str
    intent: str
    resolved: bool
    cypher: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    error: str | None = None
