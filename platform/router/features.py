"""Hashed n-gram features of a prompt, for English and Chinese alike, in microseconds.

Words give unigrams and bigrams; inside each word, character 3- to 5-grams catch inflections
and identifiers; runs of CJK characters (no spaces between words) give character 1- to 3-grams.
A few shape features (length, digits, code symbols) help the difficulty and interactivity heads.
Every feature is hashed into a fixed space with CRC32 (stable across runs and machines, unlike
Python's salted `hash`), counts are log-scaled and the vector is L2-normalised.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+|[^\w\s]", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
_CODE_SYMBOLS = frozenset("(){}[];=<>_#/\\`")


@dataclass(frozen=True)
class FeatureSpec:
    """How text becomes a sparse vector; part of a trained artifact, so it is versioned with it."""

    dimensions: int = 2**18
    max_chars: int = 4000
    """Only the first characters count: decision time must not grow with huge prompts."""
    embedding_model: str | None = "smollm2-135m-instruct"
    """Default model whose token embeddings, mean-pooled, join the n-grams (None: n-grams only)."""
    embedding_scale: float = 0.2
    """Weight of the standardised embedding block against the n-gram block."""


def _grams(text: str) -> list[str]:
    tokens = _TOKEN.findall(text.lower())
    words = [t for t in tokens if t[0].isalnum() or _CJK_RUN.match(t)]
    out: list[str] = []
    previous = "<s>"
    for token in words:
        if _CJK_RUN.match(token):
            for n in (1, 2, 3):
                out.extend("c" + token[i : i + n] for i in range(len(token) - n + 1))
        else:
            out.append("w" + token)
            padded = f"<{token}>"
            for n in (3, 4, 5):
                out.extend("s" + padded[i : i + n] for i in range(len(padded) - n + 1))
        out.append(f"b{previous} {token}")
        previous = token
    out.extend(_shape(text, tokens, words))
    return out


def _shape(text: str, tokens: list[str], words: list[str]) -> list[str]:
    size = sum(len(w) if _CJK_RUN.match(w) else 1 for w in words)
    digits = sum(ch.isdigit() for ch in text)
    symbols = sum(t in _CODE_SYMBOLS for t in tokens)
    return [
        f"len{min(int(math.log2(size + 1)), 10)}",
        f"digits{min(int(math.log2(digits + 1)), 6)}",
        f"symbols{min(int(math.log2(symbols + 1)), 6)}",
        f"lines{min(text.count(chr(10)), 8)}",
    ]


def featurize(text: str, spec: FeatureSpec) -> tuple[list[int], list[float]]:
    """Sparse features of `text`: (indices, values), indices unique, values L2-normalised."""
    counts: dict[int, int] = {}
    for gram in _grams(text[: spec.max_chars]):
        index = zlib.crc32(gram.encode()) % spec.dimensions
        counts[index] = counts.get(index, 0) + 1
    values = [1.0 + math.log(c) for c in counts.values()]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return list(counts), [v / norm for v in values]
