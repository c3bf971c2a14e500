"""Known-issue triples from a free-text support article, through the core, for human review.

The core is asked for YAML in the `known_issues.yaml` format; the reply is parsed and every
product is checked against the graph (a near-miss name is corrected and noted, an unknown one is
rejected with its reason). Nothing is written to the graph here: the caller saves the YAML, a
person reviews it, and `twincore support load issues FILE` loads it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from twincore.platform.safe_yaml import load_yaml
from twincore.services.support.knowledge.issues import (
    Catalogue,
    Issue,
    KnowledgeError,
    entries_of,
    resolve,
)
from twincore.services.support.prompts import EXTRACT, EXTRACT_RETRY

log = logging.getLogger(__name__)

MAX_ARTICLE = 6000  # characters; a longer article is cut (the swift core's context is small)
MAX_ATTEMPTS = 2
MAX_TOKENS = 400
MAX_CANDIDATES = 12
# A product name the core wrote that is this close to a catalogue name is taken as that product.
MIN_NAME_SCORE = 0.84

_FENCE = re.compile(r"```(?:ya?ml)?\s*\n(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)


class ExtractionError(ValueError):
    """The core's reply held no usable issue; the message says why and shows the reply."""


@dataclass
class Extraction:
    """Accepted issues (already validated), what was rejected and corrected, and the raw reply."""

    issues: list[Issue]
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reply: str = ""
    core: str | None = None
    attempts: int = 0


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def mentioned_products(article: str, catalogue: Catalogue) -> list[str]:
    """Catalogue names that occur in the article (word-normalised), longest first."""
    text = f" {_norm(article)} "
    found = [name for name in catalogue.values() if f" {_norm(name)} " in text]
    return sorted(found, key=len, reverse=True)[:MAX_CANDIDATES]


def reply_yaml(text: str) -> Any:
    """The YAML document in a reply: a fenced block, else the whole text."""
    m = _FENCE.search(text)
    body = m.group(1) if m else text
    try:
        return load_yaml(body)
    except yaml.YAMLError as exc:
        raise ExtractionError(f"the reply is not valid YAML ({exc.__class__.__name__})") from exc


def _closest(name: str, catalogue: Catalogue) -> str | None:
    target = _norm(name)
    best, score = None, 0.0
    for candidate in catalogue.values():
        ratio = SequenceMatcher(None, target, _norm(candidate)).ratio()
        if ratio > score:
            best, score = candidate, ratio
    return best if score >= MIN_NAME_SCORE else None


def validate_reply(text: str, catalogue: Catalogue) -> tuple[list[Issue], list[str], list[str]]:
    """Accepted issues, rejected entries (with reasons) and notes on corrected product names."""
    entries = entries_of(reply_yaml(text), "the core's reply")
    accepted: list[Issue] = []
    rejected: list[str] = []
    notes: list[str] = []
    by_name = {n.casefold() for n in catalogue.values()}
    for n, entry in enumerate(entries):
        entry = dict(entry)
        name = entry.get("product")
        if isinstance(name, str) and name.casefold() not in by_name:
            corrected = _closest(name, catalogue)
            if corrected is not None:
                notes.append(f"issues[{n}]: product {name!r} read as {corrected!r}")
                entry["product"] = corrected
        try:
            accepted.extend(resolve([entry], catalogue, f"issues[{n}]").issues)
        except KnowledgeError as exc:
            rejected.extend(p.replace("issues[0]", f"issues[{n}]") for p in exc.problems)
    taken: set[str] = set()
    unique = []
    for issue in accepted:  # the core may repeat an item; ids are derived from product + title
        if issue.issue_id not in taken:
            taken.add(issue.issue_id)
            unique.append(issue)
    return unique, rejected, notes


def extract_issues(
    article: str,
    model: BaseChatModel,
    catalogue: Catalogue,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    max_tokens: int = MAX_TOKENS,
) -> Extraction:
    """Ask the core, validate, retry with the reason; ExtractionError when nothing is usable."""
    if not article.strip():
        raise ExtractionError("the article is empty")
    if not catalogue:
        raise ExtractionError("the graph holds no products: run `twincore support load northwind`")
    candidates = mentioned_products(article, catalogue) or list(catalogue.values())
    messages: list[BaseMessage] = list(
        EXTRACT.format_messages(candidates="; ".join(candidates), article=article[:MAX_ARTICLE])
    )
    bound = model.bind(max_tokens=max_tokens)
    problem = "no attempt"
    text = ""
    core = None
    for attempt in range(1, max_attempts + 1):
        reply = bound.invoke(messages)
        meta = getattr(reply, "response_metadata", {}) or {}
        core = str(meta["core"]) if meta.get("core") else core
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        try:
            issues, rejected, notes = validate_reply(text, catalogue)
        except (ExtractionError, KnowledgeError) as exc:
            problem = str(exc)
        else:
            if issues:
                return Extraction(issues, rejected, notes, text, core, attempt)
            problem = "no entry was usable: " + "; ".join(rejected[:5])
        log.info("extraction attempt %d refused: %s", attempt, problem)
        messages += [AIMessage(content=text), HumanMessage(EXTRACT_RETRY.format(error=problem))]
    shown = text.strip()[:300] or "(empty)"
    raise ExtractionError(
        f"the core gave no usable known issue after {max_attempts} attempt(s): {problem}\n"
        f"its last reply began: {shown}"
    )
