"""Stage 1 of routing: a light task classifier over hashed n-grams with one linear head per label.

Heads: domain (aml, support, code, writing, math, chat), interactivity (realtime, offline) and
difficulty (low, high). The artifact is two files: `classifier.npz` (weights of the feature rows
seen in training, float16) and `classifier.json` (version, labels, feature spec, training facts).
`twincore router train` rebuilds it from the shipped prompt set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from twincore.platform.router.embedding import TokenEmbedding
from twincore.platform.router.features import FeatureSpec, featurize

HEADS: dict[str, tuple[str, ...]] = {
    "domain": ("aml", "support", "code", "writing", "math", "chat"),
    "interactivity": ("realtime", "offline"),
    "difficulty": ("low", "high"),
}
WEIGHTS_FILE, META_FILE = "classifier.npz", "classifier.json"
DENSE_ARRAYS = ("dense", "dense_mean", "dense_std")


def packaged_artifact() -> Path:
    """The artifact shipped with the package (trained on the shipped prompt set)."""
    return Path(str(resources.files("twincore.platform.router") / "data" / "classifier"))


@dataclass(frozen=True)
class TaskLabels:
    """The most likely label of each head, with every label's probability."""

    probabilities: dict[str, dict[str, float]]
    forced: dict[str, str] = field(default_factory=dict)
    """Heads fixed by the caller (a service knows its own domain) rather than predicted."""

    def label(self, head: str) -> str:
        if head in self.forced:
            return self.forced[head]
        probs = self.probabilities[head]
        return max(probs, key=probs.__getitem__)

    def p(self, head: str, label: str) -> float:
        if head in self.forced:
            return 1.0 if self.forced[head] == label else 0.0
        return self.probabilities[head].get(label, 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            head: {"label": self.label(head), **({"forced": True} if head in self.forced else {})}
            | {"probabilities": self.probabilities[head]}
            for head in self.probabilities
        }


@dataclass(frozen=True)
class DenseBlock:
    """The embedding half of the model: standardise the pooled vector, then a linear map."""

    embedding: TokenEmbedding
    weights: np.ndarray
    """[dim, sum of head sizes]"""
    mean: np.ndarray
    std: np.ndarray
    scale: float

    def features(self, text: str) -> np.ndarray:
        """[dim] standardised and scaled pooled embedding."""
        scaled: np.ndarray = (self.embedding.pooled(text) - self.mean) / self.std * self.scale
        return scaled


class TaskClassifier:
    """Predicts the three heads of a prompt; well under a millisecond on one CPU core."""

    def __init__(
        self,
        weights: np.ndarray,
        bias: np.ndarray,
        spec: FeatureSpec,
        meta: dict[str, Any],
        dense: DenseBlock | None = None,
    ) -> None:
        # weights: [dimensions, sum of head sizes]; bias: [sum of head sizes]
        self.weights, self.bias, self.spec, self.meta = weights, bias, spec, meta
        self.dense = dense
        self.heads = {h: tuple(labels) for h, labels in meta["heads"].items()}
        self.version: str = meta["version"]

    @classmethod
    def load(cls, directory: Path | None = None, *, data_dir: Path = Path("var")) -> TaskClassifier:
        """Load an artifact directory (default: the packaged one); `data_dir` is where default
        weights are assembled, for the embedding table."""
        directory = directory or packaged_artifact()
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise FileNotFoundError(
                f"no classifier in {directory} (expected {META_FILE} and {WEIGHTS_FILE}); "
                "build one with `twincore router train`"
            )
        meta = json.loads(meta_path.read_text())
        spec = FeatureSpec(**meta["features"])
        with np.load(weights_path) as arrays:
            rows, sparse, bias = arrays["rows"], arrays["weights"], arrays["bias"]
            block = {k: arrays[k].astype(np.float32) for k in DENSE_ARRAYS if k in arrays}
        weights = np.zeros((spec.dimensions, sparse.shape[1]), dtype=np.float32)
        weights[rows] = sparse.astype(np.float32)
        dense = None
        if spec.embedding_model is not None:
            embedding = TokenEmbedding.load(spec.embedding_model, data_dir=data_dir)
            dense = DenseBlock(
                embedding,
                block["dense"],
                block["dense_mean"],
                block["dense_std"],
                spec.embedding_scale,
            )
        return cls(weights, bias.astype(np.float32), spec, meta, dense)

    def logits(self, text: str) -> np.ndarray:
        indices, values = featurize(text, self.spec)
        # [k, C] rows of the features present, weighted by their values -> [C]
        logits: np.ndarray = np.asarray(values, dtype=np.float32) @ self.weights[indices]
        logits += self.bias
        if self.dense is not None:
            logits += self.dense.features(text) @ self.dense.weights  # [dim] @ [dim, C]
        return logits

    def classify(self, text: str, *, forced: dict[str, str] | None = None) -> TaskLabels:
        logits = self.logits(text)
        probabilities: dict[str, dict[str, float]] = {}
        start = 0
        for head, labels in self.heads.items():
            part = logits[start : start + len(labels)]
            exp = np.exp(part - part.max())
            probs = exp / exp.sum()
            probabilities[head] = {
                label: round(float(p), 4) for label, p in zip(labels, probs, strict=True)
            }
            start += len(labels)
        valid = {h: v for h, v in (forced or {}).items() if v in self.heads.get(h, ())}
        return TaskLabels(probabilities, valid)


def save_artifact(
    directory: Path,
    weights: np.ndarray,
    bias: np.ndarray,
    meta: dict[str, Any],
    dense: dict[str, np.ndarray] | None = None,
) -> None:
    """Write weights (only rows that any training prompt touched), the dense block's arrays
    (`DENSE_ARRAYS`) and metadata."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = np.flatnonzero(np.abs(weights).sum(axis=1) > 0).astype(np.int32)
    arrays: dict[str, np.ndarray] = {
        "rows": rows,
        "weights": weights[rows].astype(np.float16),
        "bias": bias.astype(np.float32),
    }
    arrays.update({k: v.astype(np.float32) for k, v in (dense or {}).items()})
    np.savez_compressed(directory / WEIGHTS_FILE, allow_pickle=False, **arrays)
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
