"""Few-shot examples for text-to-Cypher, chosen per question by word similarity.

The examples (`data/text2cypher_examples.csv`) were written for this project's Northwind graph
and are not taken from the dev questions (a unit test checks that no example is a near copy of
one). Similarity is TF-IDF cosine over lower-cased, prefix-stemmed words, with the question
words that say nothing about the query (what, which, the ...) dropped: cheap, offline,
deterministic.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

EXAMPLES_FILE = Path(__file__).parents[1] / "data" / "text2cypher_examples.csv"

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
    """The shipped examples (question, cypher columns)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return tuple(Example(r["question"], r["cypher"]) for r in csv.DictReader(fh))


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

    def select(self, question: str, k: int) -> list[Example]:
        """The k most similar examples, most similar last (closest to the question)."""
        q = self._vector(Counter(_words(question)))
        scored = [
            (sum(q.get(w, 0.0) * v for w, v in vec.items()), -i)
            for i, vec in enumerate(self._vectors)
        ]
        best = sorted(scored, reverse=True)[:k]
        return [self.examples[-i] for _score, i in reversed(best)]


@lru_cache(maxsize=1)
def default_selector() -> ExampleSelector:
    return ExampleSelector(load_examples())
