"""Content preservation for rewrites: cosine similarity of character trigram counts.

Character n-grams work for Chinese (no word segmentation needed) and English alike; the text is
lower-cased with whitespace collapsed and punctuation kept. 1.0 is the same multiset of
trigrams, 0.0 none in common. It measures shared wording, a proxy for shared content (names,
facts, numbers survive a style change), not meaning.
"""

from __future__ import annotations

import math
from collections import Counter

N = 3


def char_ngrams(text: str, n: int = N) -> Counter[str]:
    """Counts of the character n-grams of `text` (the whole text when it is shorter than n)."""
    squashed = " ".join(text.split()).lower()
    if len(squashed) < n:
        return Counter([squashed] if squashed else [])
    return Counter(squashed[i : i + n] for i in range(len(squashed) - n + 1))


def content_similarity(source: str, text: str, n: int = N) -> float:
    """Cosine of the character n-gram count vectors of `source` and `text`, in [0, 1]."""
    a, b = char_ngrams(source, n), char_ngrams(text, n)
    dot = sum(count * b[gram] for gram, count in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return round(dot / norm, 4) if norm else 0.0
