"""Training the stage-1 classifier from the shipped labelled prompt set (`twincore router train`).

The set is split deterministically by a hash of each prompt's id (a fifth of every domain is held
out), the heads are trained jointly as softmax regressions over the hashed features with Adam and
L2, and the held-out accuracy of each head is written into the artifact's metadata.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from twincore.platform.router.classifier import HEADS, DenseBlock, TaskClassifier, save_artifact
from twincore.platform.router.embedding import TokenEmbedding
from twincore.platform.router.features import FeatureSpec, featurize

FORMAT = 1
"""Artifact layout version; the full version adds a digest of the data and settings."""
HELD_OUT_SHARE = 0.2


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    lang: str
    labels: dict[str, str]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 150
    learning_rate: float = 0.05
    weight_decay: float = 1e-6
    """L2 on the n-gram weights."""
    dense_weight_decay: float = 1e-2
    """L2 on the embedding block's weights (few dense inputs, so stronger)."""
    seed: int = 0


@dataclass(frozen=True)
class DenseInputs:
    """The embedding block's training inputs and its standardisation."""

    features: torch.Tensor
    """[N, dim] standardised, scaled pooled embeddings"""
    mean: np.ndarray
    std: np.ndarray


def dense_inputs(prompts: list[Prompt], embedding: TokenEmbedding, scale: float) -> DenseInputs:
    pooled = np.stack([embedding.pooled(p.text) for p in prompts])  # [N, dim]
    mean, std = pooled.mean(axis=0), pooled.std(axis=0) + 1e-6
    features = torch.from_numpy(((pooled - mean) / std * scale).astype(np.float32))
    return DenseInputs(features, mean, std)


def packaged_prompts() -> Path:
    return Path(str(resources.files("twincore.platform.router") / "data" / "prompts"))


def load_prompts(directory: Path | None = None) -> list[Prompt]:
    """Every `*.jsonl` row of the prompt set, validated; errors name the file and line."""
    directory = directory or packaged_prompts()
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no *.jsonl prompt files in {directory}")
    prompts: list[Prompt] = []
    seen: set[str] = set()
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            row = json.loads(line)
            labels = {head: row.get(head) for head in HEADS}
            for head, value in labels.items():
                if value not in HEADS[head]:
                    raise ValueError(f"{where}: {head} must be one of {HEADS[head]}, got {value!r}")
            if not str(row.get("text", "")).strip() or row.get("id") in seen:
                raise ValueError(f"{where}: empty text or duplicate id {row.get('id')!r}")
            seen.add(row["id"])
            prompts.append(Prompt(row["id"], row["text"], row.get("lang", "en"), labels))
    return prompts


def is_held_out(prompt: Prompt) -> bool:
    return zlib.crc32(prompt.id.encode()) % 100 < HELD_OUT_SHARE * 100


def _design(prompts: list[Prompt], spec: FeatureSpec) -> torch.Tensor:
    """The sparse [N, dimensions] feature matrix."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, prompt in enumerate(prompts):
        indices, values = featurize(prompt.text, spec)
        rows.extend([i] * len(indices))
        cols.extend(indices)
        vals.extend(values)
    index = torch.tensor([rows, cols], dtype=torch.long)
    shape = (len(prompts), spec.dimensions)
    return torch.sparse_coo_tensor(index, torch.tensor(vals), shape, check_invariants=True)


def _targets(prompts: list[Prompt]) -> dict[str, torch.Tensor]:
    return {
        head: torch.tensor([labels.index(p.labels[head]) for p in prompts])
        for head, labels in HEADS.items()
    }


@dataclass(frozen=True)
class Fitted:
    weights: np.ndarray
    """[dimensions, classes] n-gram weights"""
    bias: np.ndarray
    dense: np.ndarray | None
    """[dim, classes] embedding weights"""


def fit(
    prompts: list[Prompt],
    spec: FeatureSpec,
    settings: TrainSettings,
    dense: DenseInputs | None = None,
) -> Fitted:
    """All heads trained jointly, on the n-grams and (when given) the embedding block."""
    torch.manual_seed(settings.seed)
    features = _design(prompts, spec).coalesce()
    targets = _targets(prompts)
    classes = sum(len(labels) for labels in HEADS.values())
    weights = torch.zeros(spec.dimensions, classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    parameters = [weights, bias]
    dense_weights = None
    if dense is not None:
        dense_weights = torch.zeros(dense.features.shape[1], classes, requires_grad=True)
        parameters.append(dense_weights)
    optimizer = torch.optim.Adam(parameters, lr=settings.learning_rate)
    for _ in range(settings.epochs):
        optimizer.zero_grad()
        logits = torch.sparse.mm(features, weights) + bias  # [N, classes]
        if dense is not None and dense_weights is not None:
            logits = logits + dense.features @ dense_weights
            penalty = settings.dense_weight_decay * dense_weights.pow(2).sum()
        else:
            penalty = torch.zeros(())
        loss = penalty
        start = 0
        for head, labels in HEADS.items():
            part = logits[:, start : start + len(labels)]
            loss = loss + torch.nn.functional.cross_entropy(part, targets[head])
            start += len(labels)
        loss = loss + settings.weight_decay * weights.pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return Fitted(
        weights.detach().numpy(),
        bias.detach().numpy(),
        None if dense_weights is None else dense_weights.detach().numpy(),
    )


def accuracy(classifier: TaskClassifier, prompts: list[Prompt]) -> dict[str, float]:
    """Share of prompts whose predicted label matches, per head."""
    hits = dict.fromkeys(HEADS, 0)
    for prompt in prompts:
        labels = classifier.classify(prompt.text)
        for head in HEADS:
            hits[head] += labels.label(head) == prompt.labels[head]
    return {head: round(count / max(len(prompts), 1), 4) for head, count in hits.items()}


def train(
    output: Path,
    *,
    prompts_dir: Path | None = None,
    spec: FeatureSpec | None = None,
    settings: TrainSettings | None = None,
    data_dir: Path = Path("var"),
) -> dict[str, Any]:
    """Train on the training split, measure on the held-out split, write the artifact."""
    spec, settings = spec or FeatureSpec(), settings or TrainSettings()
    prompts = load_prompts(prompts_dir)
    train_set = [p for p in prompts if not is_held_out(p)]
    held_out = [p for p in prompts if is_held_out(p)]
    embedding = dense = None
    if spec.embedding_model is not None:
        embedding = TokenEmbedding.load(spec.embedding_model, data_dir=data_dir)
        dense = dense_inputs(train_set, embedding, spec.embedding_scale)
    fitted = fit(train_set, spec, settings, dense)
    digest = hashlib.sha256()
    for prompt in prompts:
        digest.update(json.dumps([prompt.id, prompt.text, prompt.labels], sort_keys=True).encode())
    data_sha = digest.hexdigest()
    digest.update(json.dumps([asdict(spec), asdict(settings)], sort_keys=True).encode())
    meta: dict[str, Any] = {
        "version": f"{FORMAT}.{digest.hexdigest()[:12]}",
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "heads": {head: list(labels) for head, labels in HEADS.items()},
        "features": asdict(spec),
        "training": asdict(settings),
        "data": {
            "sha256": data_sha,
            "prompts": len(prompts),
            "train": len(train_set),
            "held_out": len(held_out),
            "by_domain": _count(prompts, "domain"),
            "by_lang": _count_lang(prompts),
        },
    }
    block = None
    arrays: dict[str, np.ndarray] | None = None
    if embedding is not None and dense is not None and fitted.dense is not None:
        block = DenseBlock(embedding, fitted.dense, dense.mean, dense.std, spec.embedding_scale)
        arrays = {"dense": fitted.dense, "dense_mean": dense.mean, "dense_std": dense.std}
    classifier = TaskClassifier(fitted.weights, fitted.bias, spec, meta, block)
    meta["held_out_accuracy"] = accuracy(classifier, held_out)
    meta["held_out_accuracy_by_lang"] = {
        lang: accuracy(classifier, [p for p in held_out if p.lang == lang])
        for lang in sorted({p.lang for p in held_out})
    }
    save_artifact(output, fitted.weights, fitted.bias, meta, arrays)
    return meta


def _count(prompts: list[Prompt], head: str) -> dict[str, int]:
    return {label: sum(p.labels[head] == label for p in prompts) for label in HEADS[head]}


def _count_lang(prompts: list[Prompt]) -> dict[str, int]:
    langs = sorted({p.lang for p in prompts})
    return {lang: sum(p.lang == lang for p in prompts) for lang in langs}
