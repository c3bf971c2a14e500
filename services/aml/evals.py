"""`twincore eval aml`: train on some labelled datasets, score another, report the metrics.

The level follows the test set's labels: account level for AMLSim (isFraud per account),
transaction level when labels are per transaction (AMLworld, generated data). Precision, recall
and F1 are taken at the model's own threshold (chosen on the training data), so nothing is tuned
on the test set. Per-typology recall: for a generated folder its `patterns.csv` names the
pattern of each laundering transaction; for an AMLSim folder its metadata.txt names the one
typology it plants ("unknown" when absent). `detector_recall` is the share of a typology's
laundering transactions (or accounts) that the detector of that same typology covered.
The report is saved to `<data_dir>/evals/aml-detection.json`. No model core takes part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twincore.platform.evals.local import save_report
from twincore.platform.settings import Settings
from twincore.services.aml.detect.classifier import Level, TrainConfig
from twincore.services.aml.detect.pipeline import Detection, detect
from twincore.services.aml.detect.training import load_dataset_dir, train_on_datasets
from twincore.services.aml.ingest.frames import Dataset, derive_account_labels
from twincore.services.aml.ingest.generator import read_patterns
from twincore.services.aml.ingest.samples import sample_typology

SERVICE, REPORT = "aml", "detection"


def evaluate_and_save(
    settings: Settings,
    train_paths: Sequence[Path],
    test_path: Path,
    *,
    level: Level | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], Path]:
    """`evaluate`, then the report saved under the settings' data folder; returns both."""
    report = evaluate(train_paths, test_path, level=level, on_stage=on_stage)
    return report, save_report(settings, SERVICE, REPORT, report)


def evaluate(
    train_paths: Sequence[Path],
    test_path: Path,
    *,
    level: Level | None = None,
    train_config: TrainConfig | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train on `train_paths`, detect on `test_path`, return the metrics report."""
    stage = on_stage or (lambda _: None)
    started = time.perf_counter()
    stage("loading")
    train = [load_dataset_dir(path) for path in train_paths]
    test = load_dataset_dir(test_path)
    chosen: Level = level or ("transaction" if _txn_labelled(test) else "account")
    stage("training")
    model = train_on_datasets(train, level=chosen, train_config=train_config)
    trained = time.perf_counter()
    stage("scoring")
    detection = detect(test, model, budget=100)
    report = score_detection(test, detection, chosen, test_path)
    report.update(
        {
            "train": [d.name for d in train],
            "test": test.name,
            "threshold": round(model.threshold, 6),
            "train_oof": model.metadata.get("oof_metrics", {}),
            "importance": dict(list(model.metadata.get("importance", {}).items())[:10]),
            "seconds": {
                "train": round(trained - started, 2),
                "detect": round(time.perf_counter() - trained, 2),
            },
        }
    )
    return report


def score_detection(
    dataset: Dataset, detection: Detection, level: Level, folder: Path | None = None
) -> dict[str, Any]:
    """Precision, recall, F1 and per-typology recall of a detection against the labels."""
    if level == "transaction":
        if detection.transaction_risk is None:
            raise ValueError("transaction-level scoring needs a transaction-level model")
        labels = dataset.transactions["label"]
        predicted_all = detection.transaction_risk >= detection.threshold
    else:
        accounts = dataset.accounts
        if accounts["label"].isna().all() and _txn_labelled(dataset):
            accounts = derive_account_labels(accounts, dataset.transactions)
        labels = accounts["label"]
        predicted_all = detection.risk >= detection.threshold
    known = labels.notna().to_numpy()
    if not known.any():
        raise ValueError(f"{dataset.name} has no labels to evaluate against")
    truth = labels.fillna(0).to_numpy(dtype=np.int8) == 1
    y, p = truth[known], predicted_all[known]
    tp, fp = int((y & p).sum()), int((~y & p).sum())
    fn, tn = int((y & ~p).sum()), int((~y & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_typology, detector_recall = _per_typology(dataset, detection, level, truth, folder)
    return {
        "level": level,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "counts": {
            "rows": int(known.sum()),
            "positives": int(y.sum()),
            "flagged": int(p.sum()),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        },
        "per_typology_recall": per_typology,
        "detector_recall": detector_recall,
    }


def _per_typology(
    dataset: Dataset,
    detection: Detection,
    level: Level,
    truth: np.ndarray,
    folder: Path | None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Recall of the model, and of the matching detector, per planted typology."""
    risk = detection.transaction_risk if level == "transaction" else detection.risk
    assert risk is not None
    flagged = risk >= detection.threshold
    src = dataset.transactions["src"].to_numpy()
    dst = dataset.transactions["dst"].to_numpy()
    patterns = read_patterns(folder) if folder is not None else None
    members: dict[str, np.ndarray] = {}
    if patterns is not None and len(patterns):
        for name, rows in patterns.groupby("pattern")["row"]:
            txns = rows.to_numpy()
            if level == "transaction":
                members[str(name)] = txns
            else:
                members[str(name)] = np.unique(np.concatenate([src[txns], dst[txns]]))
    else:
        typology = sample_typology(folder) if folder is not None and folder.is_dir() else "unknown"
        members[typology] = np.flatnonzero(truth)
    covered: dict[str, set[int]] = {}
    for hit in detection.hits:
        hit_ids = hit.transactions if level == "transaction" else hit.accounts
        covered.setdefault(hit.pattern, set()).update(hit_ids)
    model_recall: dict[str, float] = {}
    detector_recall: dict[str, float] = {}
    for name, ids in sorted(members.items()):
        if not len(ids):
            continue
        model_recall[name] = round(float(flagged[ids].mean()), 4)
        seen = covered.get(name, set())
        detector_recall[name] = round(float(np.mean([int(i) in seen for i in ids])), 4)
    return model_recall, detector_recall


def _txn_labelled(dataset: Dataset) -> bool:
    return dataset.label_level == "transaction" and bool(
        dataset.transactions["label"].notna().any()
    )
