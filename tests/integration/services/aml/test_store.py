"""Storing datasets in SQL and loading them back, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from sqlalchemy import Engine, func, select

from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.services.aml.errors import DatasetExistsError
from twincore.services.aml.ingest.formats import IngestError, read_dataset
from twincore.services.aml.ingest.frames import Dataset
from twincore.services.aml.ingest.generator import GeneratorConfig, generate, write_generated
from twincore.services.aml.models import AmlAccount, AmlDataset, AmlTransaction
from twincore.services.aml.store import (
    delete_dataset,
    get_dataset_info,
    list_datasets,
    load_dataset,
    store_dataset,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    config = GeneratorConfig(accounts=300, days=20, seed=5, transactions=6_000)
    folder = write_generated(generate(config), tmp_path_factory.mktemp("gen") / "g")
    return read_dataset(folder, name="generated")


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.scalar(select(func.count()).select_from(table))
            for table in (AmlDataset, AmlAccount, AmlTransaction)
        )


def _assert_same(a: Dataset, b: Dataset) -> None:
    assert (a.name, a.source_format, a.label_level) == (b.name, b.source_format, b.label_level)
    pdt.assert_frame_equal(a.accounts, b.accounts)
    pdt.assert_frame_equal(a.transactions, b.transactions, check_categorical=False)
    for column in ("currency", "payment_format"):
        assert set(a.transactions[column].cat.categories) == set(
            b.transactions[column].cat.categories
        )


def test_round_trip_generated_and_amlsim(
    engine: Engine, generated: Dataset, tmp_path: Path
) -> None:
    from twincore.services.aml.ingest.samples import sample_dir

    dataset_id = store_dataset(engine, generated)
    _assert_same(generated, load_dataset(engine, dataset_id))
    info = get_dataset_info(engine, "generated")
    assert (info.id, info.n_transactions, info.status) == (dataset_id, 6_000, "ready")
    sim = read_dataset(sample_dir("20K_cycle200", cache_dir=tmp_path), name="cycle")
    sim_id = store_dataset(engine, sim)
    loaded = load_dataset(engine, sim_id)
    _assert_same(sim, loaded)
    assert loaded.transactions["label"].isna().all()
    assert [d.name for d in list_datasets(engine)] == ["cycle", "generated"]


def test_name_clash_is_refused_and_stores_nothing_more(engine: Engine, generated: Dataset) -> None:
    store_dataset(engine, generated)
    before = _counts(engine)
    with pytest.raises(DatasetExistsError, match="already exists"):
        store_dataset(engine, generated)
    assert _counts(engine) == before


def test_delete_removes_the_rows(engine: Engine, generated: Dataset) -> None:
    keep = store_dataset(
        engine,
        Dataset("other", "amlworld", generated.accounts, generated.transactions, "transaction"),
    )
    gone = store_dataset(engine, generated)
    delete_dataset(engine, gone)
    assert _counts(engine) == (1, generated.n_accounts, generated.n_transactions)
    _assert_same(
        load_dataset(engine, keep),
        Dataset("other", "amlworld", generated.accounts, generated.transactions, "transaction"),
    )


def test_a_failure_inside_the_callers_transaction_keeps_nothing(
    engine: Engine, generated: Dataset
) -> None:
    sessions = session_factory(engine)
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        store_dataset(session, generated)
        raise RuntimeError("the caller's next step failed")
    assert _counts(engine) == (0, 0, 0)


def test_malformed_file_stores_zero_rows(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    frame = pd.DataFrame(
        {
            "transaction_id": ["a", "b", "c"],
            "timestamp": ["2024-01-01T00:00:00Z", "not a time", "2024-01-02T00:00:00Z"],
            "from_bank": ["x"] * 3,
            "from_account": ["1", "2", "3"],
            "to_bank": ["y"] * 3,
            "to_account": ["4", "5", "6"],
            "amount": ["1.0", "2.0", "-3"],
            "currency": ["EUR"] * 3,
            "payment_format": ["wire"] * 3,
        }
    )
    frame.to_csv(path, index=False)
    with pytest.raises(IngestError) as caught:
        store_dataset(engine, read_dataset(path, name="bad"))
    assert [issue.line for issue in caught.value.issues] == [3, 4]
    assert _counts(engine) == (0, 0, 0)
