"""Training the risk model on labelled datasets, and loading datasets by folder for the CLI.

The level follows the labels: AMLSim labels accounts (isFraud), so its model scores accounts;
AMLworld and generated data label transactions, so theirs scores transactions (an account's risk
is then the highest risk of its transactions). `level` may force account level on transaction-
labelled data (account labels are derived: any laundering transaction touching the account).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs
from scipy import sparse  # type: ignore[import-untyped]
from scipy.sparse import csgraph  # type: ignore[import-untyped]

from twincore.services.aml.detect.classifier import Level, RiskModel, TrainConfig, train_model
from twincore.services.aml.detect.detectors import DetectorConfig
from twincore.services.aml.detect.pipeline import FeatureSet, build_features
from twincore.services.aml.ingest.formats import read_dataset
from twincore.services.aml.ingest.frames import Dataset, derive_account_labels

logger = logging.getLogger(__name__)


def load_dataset_dir(path: Path) -> Dataset:
    """Read a dataset folder (or file/archive) in any supported format (auto-detected)."""
    return read_dataset(path, name=path.name.removesuffix(".tgz"))


def level_for(datasets: Sequence[Dataset], level: Level | None = None) -> Level:
    """The training level: the one asked for, else transaction when every set has per-
    transaction labels, else account."""
    if level is not None:
        if level == "transaction" and not all(_has_txn_labels(d) for d in datasets):
            raise ValueError("transaction-level training needs per-transaction labels")
        return level
    if all(d.label_level == "transaction" and _has_txn_labels(d) for d in datasets):
        return "transaction"
    return "account"


def labelled_rows(
    dataset: Dataset, features: FeatureSet, level: Level
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The feature rows with a known label at `level`, their labels (0/1) and fold groups."""
    if level == "transaction":
        assert features.transactions is not None
        labels = dataset.transactions["label"]
        frame = features.transactions
        groups = laundering_groups(dataset)
    else:
        accounts = dataset.accounts
        if accounts["label"].isna().all() and _has_txn_labels(dataset):
            accounts = derive_account_labels(accounts, dataset.transactions)
        labels = accounts["label"]
        frame = features.accounts
        groups = np.arange(len(frame))
    known = labels.notna().to_numpy()
    return frame[known], labels[known].to_numpy(dtype=np.int8), groups[known]


def laundering_groups(dataset: Dataset) -> np.ndarray:
    """A fold group per transaction: laundering payments that touch each other (one planted or
    real instance) share a group; every other payment is grouped with its sender."""
    txns = dataset.transactions
    src, dst = txns["src"].to_numpy(), txns["dst"].to_numpy()
    n = dataset.n_accounts
    bad = txns["label"].fillna(0).to_numpy(dtype=np.int8) == 1
    graph = sparse.coo_matrix((np.ones(int(bad.sum())), (src[bad], dst[bad])), shape=(n, n))
    _, component = csgraph.connected_components(graph, directed=False)
    # Laundering rows: their component (0..n-1); clean rows: n + sender, never mixed with them.
    groups: np.ndarray = np.where(bad, component[src], n + src).astype(np.int64)
    return groups


def train_on_datasets(
    datasets: Sequence[Dataset],
    *,
    level: Level | None = None,
    train_config: TrainConfig | None = None,
    detector_config: DetectorConfig | None = None,
    on_dataset: Callable[[str], None] | None = None,
) -> RiskModel:
    """Build features on every dataset, stack the labelled rows, train one calibrated model."""
    if not datasets:
        raise ValueError("no training datasets")
    chosen = level_for(datasets, level)
    config = detector_config or DetectorConfig()
    frames: list[pd.DataFrame] = []
    targets: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    offset = 0
    for dataset in datasets:
        features = build_features(dataset, config, with_transactions=chosen == "transaction")
        frame, target, group = labelled_rows(dataset, features, chosen)
        frames.append(frame)
        targets.append(target)
        groups.append(group + offset)  # groups never span datasets
        offset += int(group.max()) + 1 if len(group) else 0
        logger.info("%s: %d training rows, %d positive", dataset.name, len(target), target.sum())
        if on_dataset is not None:
            on_dataset(dataset.name)
    return train_model(
        pd.concat(frames, ignore_index=True),
        np.concatenate(targets),
        level=chosen,
        config=train_config,
        groups=np.concatenate(groups),
        metadata={
            "trained_on": [d.name for d in datasets],
            "detector": asdict(config),
        },
    )


def _has_txn_labels(dataset: Dataset) -> bool:
    return bool(dataset.transactions["label"].notna().any())
