"""Few-shot examples for text-to-Cypher, chosen per question by word similarity.

Two pools, merged: the hand-written examples (`data/text2cypher_examples.csv`, written for this
project's Northwind graph, not near copies of dev questions: a unit test checks) and the
shipped dev questions with their reference queries (`data/text2cypher_dev.csv`). Similarity is
TF-IDF cosine over lower-cased, prefix-stemmed words, with the question words that say nothing
about the query (what, which, the ...) dropped: cheap, offline, deterministic. The question
being answered is never its own example: an example whose question is the same text or a near
duplicate of it (difflib ratio >= `NEAR_DUPLICATE` after normalising) is skipped, so asking a
dev question does not show its reference query. Callers may also skip examples their grammar
cannot produce (`accept`): a dev reference drawn against the schema's direction would teach
the wrong way round.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

EXAMPLES_FILE = Path(__file__).parents[1] / "data" / "text2cypher_examples.csv"
DEV_FILE = Path(__file__).parents[1] / "data" / "text2cypher_dev.csv"
NEAR_DUPLICATE = 0.9
"""Questions this similar (difflib ratio of their normalised text) count as the same one."""

_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "a an the of in on for to by from and or is are was were be been do does did what which who "
    "whom whose how many much list show find give me all any each that this these those with "
    "have has had their its it as at name names provide identify"
)
_STOP = frozenset(_STOP_WORDS.split())
# Words cut to 5 letters: supplied/supplies/suppliers, ordered/orders meet (a crude stemmer).
STEM = 5


@dataclass(frozen=True)
class Example:
    question: str
    cypher: str


def _words(text: str) -> list[str]:
    return [w[:STEM] for w in _WORD.findall(text.lower()) if w not in _STOP]


def load_examples(path: Path = EXAMPLES_FILE) -> tuple[Example, ...]:
    """The examples of a CSV with question and cypher columns (default: the hand-written)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return tuple(
            Example(r["question"].strip(), r["cypher"].strip()) for r in csv.DictReader(fh)
        )


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def near_duplicate(a: str, b: str) -> bool:
    """Are two questions the same one, up to case, punctuation and a small edit?"""
    x, y = _normal(a), _normal(b)
    if x == y:
        return True
    matcher = SequenceMatcher(None, x, y, autojunk=False)
    return matcher.real_quick_ratio() >= NEAR_DUPLICATE and matcher.ratio() >= NEAR_DUPLICATE


class ExampleSelector:
    """Pick the k examples whose questions share the most informative words with a question."""

    def __init__(self, examples: tuple[Example, ...]) -> None:
        self.examples = examples
        docs = [Counter(_words(e.question)) for e in examples]
        df = Counter(w for d in docs for w in d)
        n = len(docs)
        self._idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
        self._vectors = [self._vector(d) for d in docs]

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        # Words no example uses get the highest idf: they still count toward the norm.
        top = math.log(1 + len(self.examples)) + 1.0
        vec = {w: c * self._idf.get(w, top) for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def select(
        self, question: str, k: int, *, accept: Callable[[Example], bool] | None = None
    ) -> list[Example]:
        """The k most similar examples, most similar last (closest to the question); never
        the question itself or a near duplicate of it, nor one `accept` refuses."""
        q = self._vector(Counter(_words(question)))
        scored = sorted(
            (
                (sum(q.get(w, 0.0) * v for w, v in vec.items()), -i)
                for i, vec in enumerate(self._vectors)
            ),
            reverse=True,
        )
        chosen: list[Example] = []
        for _score, negative_index in scored:
            if len(chosen) >= k:
                break
            example = self.examples[-negative_index]
            if near_duplicate(example.question, question):
                continue
            if accept is not None and not accept(example):
                continue
            chosen.append(example)
        return chosen[::-1]


@lru_cache(maxsize=1)
def default_selector() -> ExampleSelector:
    """The hand-written examples and the dev questions, in one pool."""
    return ExampleSelector(load_examples() + load_examples(DEV_FILE))
