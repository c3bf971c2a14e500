"""Storing a `Dataset` in the AML tables and loading it back.

Bulk rows bypass the ORM: SQLite gets one DBAPI `executemany` of tuples per chunk, PostgreSQL a
`COPY ... FROM STDIN` of CSV text; both inside the caller's one transaction, so a failure leaves
no dataset row and no half of its rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any, TypeVar

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twincore.platform.db.base import Base
from twincore.platform.errors import Invalid
from twincore.services.aml.errors import DatasetExistsError, NotFoundError
from twincore.services.aml.ingest.frames import (
    TRANSACTION_COLUMNS,
    Dataset,
    accounts_frame,
    transactions_frame,
)
from twincore.services.aml.models import AmlAccount, AmlDataset, AmlTransaction

CHUNK_ROWS = 100_000
ACCOUNT_FIELDS = ("dataset_id", "key", "bank", "account", "label")
TRANSACTION_FIELDS = ("dataset_id", *TRANSACTION_COLUMNS)
Target = Engine | Connection | Session
RowT = TypeVar("RowT")


@dataclass(frozen=True)
class DatasetInfo:
    """A stored dataset's row, without its accounts and transactions."""

    id: int
    name: str
    source_format: str
    label_level: str | None
    n_accounts: int
    n_transactions: int
    created_at: datetime
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@contextmanager
def _connection(target: Target) -> Iterator[Connection]:
    """An engine opens (and commits) its own transaction; a session or connection lends the
    caller's, which the caller commits."""
    if isinstance(target, Engine):
        with target.begin() as connection:
            yield connection
    elif isinstance(target, Session):
        yield target.connection()
    else:
        yield target


def store_dataset(target: Target, dataset: Dataset) -> int:
    """Insert the dataset with all its rows in one transaction; returns its id."""
    dataset.validate()
    name = dataset.name.strip()
    if not name or len(name) > 200:
        raise Invalid("a dataset needs a name of 1 to 200 characters", param="name")
    with _connection(target) as connection:
        if connection.execute(select(AmlDataset.id).where(AmlDataset.name == name)).first():
            raise DatasetExistsError(f"a dataset named {name!r} already exists")
        try:
            dataset_id = connection.execute(
                insert(AmlDataset)
                .values(
                    name=name,
                    source_format=dataset.source_format,
                    label_level=dataset.label_level,
                    n_accounts=dataset.n_accounts,
                    n_transactions=dataset.n_transactions,
                    status="ready",
                )
                .returning(AmlDataset.id)
            ).scalar_one()
        except IntegrityError as exc:  # a concurrent writer took the name first
            raise DatasetExistsError(f"a dataset named {name!r} already exists") from exc
        with _sqlite_cache(connection):
            accounts = dataset.accounts
            _bulk_insert(
                connection,
                AmlAccount.__tablename__,
                ACCOUNT_FIELDS,
                {
                    "key": accounts.index.to_numpy(dtype=np.int64),
                    "bank": accounts["bank"].to_numpy(dtype=object),
                    "account": accounts["account"].to_numpy(dtype=object),
                    "label": accounts["label"].to_numpy(dtype=object, na_value=None),
                },
                dataset_id,
            )
            txns = dataset.transactions
            _bulk_insert(
                connection,
                AmlTransaction.__tablename__,
                TRANSACTION_FIELDS,
                {
                    "txn": txns["txn"].to_numpy(),
                    "ts": txns["ts"].to_numpy(),
                    "src": txns["src"].to_numpy(),
                    "dst": txns["dst"].to_numpy(),
                    "amount": txns["amount"].to_numpy(),
                    "currency": txns["currency"].to_numpy(dtype=object),
                    "payment_format": txns["payment_format"].to_numpy(dtype=object),
                    "label": txns["label"].to_numpy(dtype=object, na_value=None),
                },
                dataset_id,
            )
    return int(dataset_id)


SQLITE_BULK_CACHE_KIB = 256 * 1024


@contextmanager
def _sqlite_cache(connection: Connection) -> Iterator[None]:
    """A large page cache while bulk-inserting into SQLite: the (dataset_id, src/dst) indexes
    take keys in random order and thrash the default 2 MB cache. Restored afterwards, since the
    pooled connection outlives this call."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


def _bulk_insert(
    connection: Connection,
    table: str,
    fields: tuple[str, ...],
    columns: dict[str, np.ndarray],
    dataset_id: int,
) -> None:
    n = len(next(iter(columns.values())))
    dialect = connection.dialect.name
    raw = connection.connection.driver_connection
    sql = f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"  # noqa: S608  (table and column names are ours)
    for start in range(0, n, CHUNK_ROWS):
        part = [columns[f][start : start + CHUNK_ROWS] for f in fields[1:]]
        if dialect == "postgresql":
            _copy_postgres(raw, table, fields, part, dataset_id)
        elif dialect == "sqlite":
            cursor = raw.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, zip(repeat(dataset_id), *(p.tolist() for p in part)))
            finally:
                cursor.close()
        else:  # another backend: SQLAlchemy Core, slower but portable
            batch = [
                {"dataset_id": dataset_id, **dict(zip(fields[1:], values, strict=True))}
                for values in zip(*(p.tolist() for p in part), strict=True)
            ]
            connection.execute(insert(Base.metadata.tables[table]), batch)


def _copy_postgres(
    raw: Any, table: str, fields: tuple[str, ...], part: list[np.ndarray], dataset_id: int
) -> None:
    frame = pd.DataFrame({f: p for f, p in zip(fields[1:], part, strict=True)})
    frame.insert(0, "dataset_id", dataset_id)
    buffer = io.StringIO()
    # Empty unquoted fields read back as NULL in COPY's CSV format (the unknown labels).
    frame.to_csv(buffer, header=False, index=False, na_rep="")
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(fields)}) FROM STDIN WITH (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())


def list_datasets(target: Target) -> list[DatasetInfo]:
    """Every stored dataset, newest first."""
    with _connection(target) as connection:
        rows = connection.execute(select(AmlDataset).order_by(AmlDataset.id.desc())).all()
    return [_info(row) for row in rows]


def get_dataset_info(target: Target, ref: int | str) -> DatasetInfo:
    """One dataset's row by id or by name."""
    column = AmlDataset.id if isinstance(ref, int) else AmlDataset.name
    with _connection(target) as connection:
        row = connection.execute(select(AmlDataset).where(column == ref)).first()
    if row is None:
        raise NotFoundError(f"no AML dataset {ref!r}")
    return _info(row)


def _info(row: Any) -> DatasetInfo:
    return DatasetInfo(
        id=row.id,
        name=row.name,
        source_format=row.source_format,
        label_level=row.label_level,
        n_accounts=row.n_accounts,
        n_transactions=row.n_transactions,
        created_at=row.created_at,
        status=row.status,
    )


def load_dataset(target: Target, dataset_id: int) -> Dataset:
    """Read a stored dataset back into memory (same account keys, transaction ids and order)."""
    info = get_dataset_info(target, dataset_id)
    with _connection(target) as connection:
        account_rows = _fetch_all(
            connection,
            "SELECT bank, account, label FROM aml_accounts WHERE dataset_id = {} ORDER BY key",
            dataset_id,
        )
        txn_rows = _fetch_all(
            connection,
            "SELECT ts, src, dst, amount, currency, payment_format, label FROM aml_transactions"
            " WHERE dataset_id = {} ORDER BY txn",
            dataset_id,
        )
    acc = pd.DataFrame.from_records(account_rows, columns=["bank", "account", "label"])
    txn = pd.DataFrame.from_records(
        txn_rows, columns=["ts", "src", "dst", "amount", "currency", "payment_format", "label"]
    )
    accounts = accounts_frame(
        acc["bank"].to_numpy(dtype=object),
        acc["account"].to_numpy(dtype=object),
        pd.array(acc["label"].to_numpy(dtype=object), dtype="Int8"),
    )
    transactions = transactions_frame(
        ts=txn["ts"].to_numpy(dtype=np.int64),
        src=txn["src"].to_numpy(dtype=np.int64),
        dst=txn["dst"].to_numpy(dtype=np.int64),
        amount=txn["amount"].to_numpy(dtype=np.float64),
        currency=txn["currency"].to_numpy(dtype=object),
        payment_format=txn["payment_format"].to_numpy(dtype=object),
        label=pd.array(txn["label"].to_numpy(dtype=object), dtype="Int8"),
    )
    level = info.label_level if info.label_level in ("account", "transaction") else None
    return Dataset(info.name, info.source_format, accounts, transactions, level)  # type: ignore[arg-type]


def _fetch_all(connection: Connection, sql: str, dataset_id: int) -> list[tuple[Any, ...]]:
    # Plain DBAPI tuples: building a SQLAlchemy Row per transaction costs more than the query.
    mark = "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql.format(mark), (dataset_id,))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def delete_dataset(target: Target, dataset_id: int) -> None:
    """Delete a dataset and its rows (children first, so it holds even without FK cascades)."""
    with _connection(target) as connection:
        get_dataset_info(connection, dataset_id)
        connection.execute(delete(AmlTransaction).where(AmlTransaction.dataset_id == dataset_id))
        connection.execute(delete(AmlAccount).where(AmlAccount.dataset_id == dataset_id))
        connection.execute(delete(AmlDataset).where(AmlDataset.id == dataset_id))


def get_row(session: Session, table: type[RowT], key: int, what: str) -> RowT:
    """The row of `table` with primary key `key`; `NotFoundError("no <what> <key>")` if none."""
    row = session.get(table, key)
    if row is None:
        raise NotFoundError(f"no {what} {key}")
    return row
