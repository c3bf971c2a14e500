"""Style classifier: softmax regression on hashed char n-grams plus per-style checker scores."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twincore.services.writing.checkers import check_text
from twincore.services.writing.registry import load_styles

ARTIFACT = Path(__file__).parents[1] / "data" / "style_classifier.npz"
HASH_DIM = 2048
NGRAMS = (1, 2, 3)
# The held-out split of `labelled_split`: fixed, so the shipped artifact can be reproduced.
SPLIT_SEED = 7
HELD_OUT_SHARE = 0.25


def featurize(text: str) -> NDArray[np.float64]:
    """[HASH_DIM + n_styles]: l2-normalised hashed char n-gram counts, then checker scores."""
    grams = np.zeros(HASH_DIM)
    squashed = " ".join(text.split()).lower()
    for n in NGRAMS:
        for i in range(len(squashed) - n + 1):
            # crc32, not hash(): str hashes are salted per process; the artifact must not be.
            grams[zlib.crc32(squashed[i : i + n].encode()) % HASH_DIM] += 1.0
    norm = np.linalg.norm(grams)
    if norm > 0:
        grams /= norm
    scores = np.array([check_text(s, text).score for s in load_styles().values()])
    return np.concatenate([grams, scores])


@dataclass(frozen=True)
class StyleClassifier:
    """Weights [D, K] and bias [K] over the style ids `labels`."""

    labels: tuple[str, ...]
    weights: NDArray[np.float64]
    bias: NDArray[np.float64]

    def probabilities(self, text: str) -> dict[str, float]:
        """P(style | text) for every style."""
        logits = featurize(text) @ self.weights + self.bias  # [K]
        exp = np.exp(logits - logits.max())
        probs = exp / exp.sum()
        return {label: float(p) for label, p in zip(self.labels, probs, strict=True)}

    def predict(self, text: str) -> str:
        """The most probable style id."""
        probs = self.probabilities(text)
        return max(probs, key=probs.__getitem__)

    def save(self, path: Path = ARTIFACT) -> None:
        """Write the artifact (npz: labels, weights, bias)."""
        np.savez(path, labels=np.array(self.labels), weights=self.weights, bias=self.bias)


def load_classifier(path: Path = ARTIFACT) -> StyleClassifier:
    """The shipped (or retrained) classifier."""
    with np.load(path) as data:
        return StyleClassifier(tuple(str(x) for x in data["labels"]), data["weights"], data["bias"])


def train(
    texts: list[str], labels: list[str], *, epochs: int = 300, lr: float = 0.5, l2: float = 1e-3
) -> StyleClassifier:
    """Full-batch gradient descent on the softmax cross-entropy; deterministic (zero init)."""
    classes = tuple(load_styles())
    unknown = set(labels) - set(classes)
    if unknown:
        raise ValueError(f"unknown style labels: {sorted(unknown)}")
    x = np.stack([featurize(t) for t in texts])  # [N, D]
    y = np.zeros((len(texts), len(classes)))  # [N, K] one-hot
    y[np.arange(len(texts)), [classes.index(lbl) for lbl in labels]] = 1.0
    w = np.zeros((x.shape[1], len(classes)))
    b = np.zeros(len(classes))
    for _ in range(epochs):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - y) / len(texts)  # [N, K]
        w -= lr * (x.T @ grad + l2 * w)
        b -= lr * grad.sum(axis=0)
    return StyleClassifier(classes, w, b)


def split_exemplars() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) pairs of (text, style id): each style's last exemplar is held out."""
    train_set: list[tuple[str, str]] = []
    held_out: list[tuple[str, str]] = []
    for style in load_styles().values():
        *head, last = style.exemplars
        train_set += [(t, style.id) for t in head]
        held_out.append((last, style.id))
    return train_set, held_out


def accuracy(model: StyleClassifier, pairs: list[tuple[str, str]]) -> float:
    """Share of pairs whose predicted style is the label."""
    return sum(model.predict(t) == lbl for t, lbl in pairs) / len(pairs) if pairs else 0.0


def per_style_accuracy(model: StyleClassifier, pairs: list[tuple[str, str]]) -> dict[str, float]:
    """`accuracy` within each label's pairs, labels in first-seen order."""
    by_style: dict[str, list[tuple[str, str]]] = {}
    for text, label in pairs:
        by_style.setdefault(label, []).append((text, label))
    return {label: round(accuracy(model, group), 4) for label, group in by_style.items()}


def labelled_split(
    drafts: list[tuple[str, str]],
    *,
    seed: int = SPLIT_SEED,
    share: float = HELD_OUT_SHARE,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) over exemplars + labelled `drafts` (text, style id): within each style
    the texts are shuffled with `seed` and `share` of them (at least one) are held out, so
    every style is scored and the split is the same on every run."""
    if not 0.0 < share < 1.0:
        raise ValueError("share must be between 0 and 1")
    rng = np.random.default_rng(seed)
    train_set: list[tuple[str, str]] = []
    held_out: list[tuple[str, str]] = []
    for style in load_styles().values():
        pool = [(t, style.id) for t in style.exemplars]
        pool += [(t, lbl) for t, lbl in drafts if lbl == style.id]
        order = rng.permutation(len(pool))
        cut = max(1, round(share * len(pool)))
        held_out += [pool[i] for i in order[:cut]]
        train_set += [pool[i] for i in order[cut:]]
    return train_set, held_out
