"""The fixed inputs of `twincore eval writing`: compose topics and rewrite sources per style, and
a job (one item on one core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from twincore.services.writing.generate.drafts import Mode
from twincore.services.writing.registry import Style, get_style, load_styles

DATA = Path(__file__).parents[1] / "data"
TOPICS = DATA / "eval_topics.yaml"
SOURCES = DATA / "eval_sources.yaml"

# Completion budgets per style: enough for the form (a haiku is ~20 tokens, a sonnet ~200,
# prose 80-300 words) without paying for a weak model's run-on repetition.
MAX_TOKENS: dict[str, int] = {
    "wujue": 64,
    "qijue": 96,
    "haiku": 48,
    "limerick": 96,
    "sonnet": 256,
}
PROSE_MAX_TOKENS = 256


@dataclass(frozen=True)
class EvalItem:
    """One input of the evaluation: a style, compose or rewrite, and the topic or source."""

    style: Style
    mode: Mode
    item_id: str
    prompt: str

    @property
    def max_tokens(self) -> int:
        return MAX_TOKENS.get(self.style.id, PROSE_MAX_TOKENS)


@dataclass(frozen=True)
class Job:
    """One item on one core."""

    core: str
    item: EvalItem


def _read(path: Path, key: str) -> list[dict[str, Any]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path.name} needs a non-empty '{key}' list")
    return entries


def load_topics(path: Path = TOPICS) -> list[dict[str, str]]:
    """Topics as {id, en, zh}."""
    topics = _read(path, "topics")
    for t in topics:
        if not {"id", "en", "zh"} <= set(t):
            raise ValueError(f"{path.name}: a topic needs id, en and zh: {t}")
    return [{k: str(t[k]).strip() for k in ("id", "en", "zh")} for t in topics]


def load_sources(path: Path = SOURCES) -> list[dict[str, str]]:
    """Source texts as {id, language, text}."""
    sources = _read(path, "sources")
    for s in sources:
        if not {"id", "language", "text"} <= set(s):
            raise ValueError(f"{path.name}: a source needs id, language and text: {s}")
    return [{k: " ".join(str(s[k]).split()) for k in ("id", "language", "text")} for s in sources]


def resolve_styles(names: Sequence[str] | None) -> list[Style]:
    """The styles to evaluate: the named ones (`NotFound` for an unknown id), else all."""
    if not names:
        return list(load_styles().values())
    return [get_style(name) for name in dict.fromkeys(names)]


def eval_items(
    styles: Sequence[Style],
    *,
    limit: int | None = None,
    topics: list[dict[str, str]] | None = None,
    sources: list[dict[str, str]] | None = None,
    modes: Sequence[Mode] = ("compose", "rewrite"),
) -> list[EvalItem]:
    """Per style: each topic (compose) and each source in its language (rewrite); `limit`
    keeps the first N topics and the first N sources of every style."""
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    topics = load_topics() if topics is None else topics
    sources = load_sources() if sources is None else sources
    items: list[EvalItem] = []
    for style in styles:
        if "compose" in modes:
            chosen = topics[:limit] if limit else topics
            items += [EvalItem(style, "compose", t["id"], t[style.language]) for t in chosen]
        if "rewrite" in modes:
            own = [s for s in sources if s["language"] == style.language]
            own = own[:limit] if limit else own
            items += [EvalItem(style, "rewrite", s["id"], s["text"]) for s in own]
    return items
