"""The three file formats: parsing into the Dataset contract, and whole-file rejection with
every bad line reported by number."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twincore.services.aml.ingest.formats import IngestError, detect_format, read_dataset
from twincore.services.aml.ingest.formats.amlsim import AMLSIM_EPOCH

AMLWORLD_HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering\n"
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _amlworld(tmp_path: Path, rows: str) -> Path:
    return _write(tmp_path / "HI-Tiny_Trans.csv", AMLWORLD_HEADER + rows)


def test_amlworld_reads_both_account_columns_as_payer_and_payee(tmp_path: Path) -> None:
    path = _amlworld(
        tmp_path,
        "2022/09/01 00:22,001,8000EBD30,002,8000F5340,100.5,Euro,120.0,US Dollar,Wire,1\n"
        "2022/09/01 00:20,002,8000F5340,001,8000EBD30,50,US Dollar,50,US Dollar,ACH,0\n"
        "2022/09/01 00:21,001,8000EBD30,003,8000EBD30,7,US Dollar,7,US Dollar,Cash,0\n",
    )
    assert detect_format(path) == "amlworld"
    data = read_dataset(path, name="tiny")
    data.validate()
    assert data.label_level == "transaction"
    # (bank, account) is the identity: the same account number at bank 003 is another account.
    assert data.n_accounts == 3
    accounts = data.accounts
    key = {(b, a): k for k, (b, a) in enumerate(zip(accounts.bank, accounts.account, strict=True))}
    txns = data.transactions
    assert txns["ts"].is_monotonic_increasing  # sorted by time, ids re-numbered in that order
    assert list(txns["txn"]) == [0, 1, 2]
    first = txns.iloc[0]
    assert (first.src, first.dst) == (key[("002", "8000F5340")], key[("001", "8000EBD30")])
    assert first.ts == pd.Timestamp("2022-09-01 00:20", tz="UTC").timestamp()
    last = txns.iloc[2]
    assert last.amount == 120.0 and last.currency == "US Dollar" and last.label == 1
    assert last.payment_format == "Wire"
    assert str(txns["currency"].dtype) == "category" and str(txns["label"].dtype) == "Int8"
    # Account labels derived: any laundering transaction touching the account.
    labels = dict(
        zip(zip(accounts.bank, accounts.account, strict=True), accounts.label, strict=True)
    )
    assert labels[("001", "8000EBD30")] == 1 and labels[("002", "8000F5340")] == 1
    assert labels[("003", "8000EBD30")] == 0


def test_amlworld_malformed_file_reports_every_bad_line(tmp_path: Path) -> None:
    good = "2022/09/01 00:20,001,A,002,B,10,US Dollar,10,US Dollar,ACH,0\n"
    path = _amlworld(
        tmp_path,
        good  # line 2
        + "2022/09/31 00:20,001,A,002,B,10,US Dollar,10,US Dollar,ACH,0\n"  # 3 bad date
        + "2022/09/01 00:20,001,A,002,B,10,US Dollar,-5,US Dollar,ACH,0\n"  # 4 negative
        + "2022/09/01 00:20,001,A,002,B,10,US Dollar,nan,US Dollar,ACH,0\n"  # 5 NaN
        + good  # 6
        + "\n"  # 7 blank: skipped but counted
        + "2022/09/01 00:20,001,A,002,B,10,US Dollar,10,US Dollar,ACH,yes?\n"  # 8 bad label
        + "2022/09/01 00:20,001,A,002\n"  # 9 too few fields
        + "2022/09/01 00:20,001,A,002,B,10,US Dollar,10,US Dollar,ACH,0,extra\n"  # 10 too many
        + "2022/09/01 00:20,001,,002,B,10,US Dollar,10,US Dollar,ACH,0\n",  # 11 empty account
    )
    with pytest.raises(IngestError) as caught:
        read_dataset(path, name="bad")
    lines = {(issue.line, issue.reason.split(":")[0]) for issue in caught.value.issues}
    assert {line for line, _ in lines} == {3, 4, 5, 8, 9, 10, 11}
    assert (4, "Amount Paid is negative") in lines
    assert (5, "Amount Paid is not a number") in lines
    assert caught.value.total == len(caught.value.issues)
    body = caught.value.as_dict()
    assert body["total"] == caught.value.total and body["issues"][0]["line"] == 3


def test_many_bad_lines_are_capped_with_a_total(tmp_path: Path) -> None:
    rows = "".join(
        f"2022/09/01 00:20,001,A{i},002,B,10,US Dollar,oops,US Dollar,ACH,0\n" for i in range(500)
    )
    with pytest.raises(IngestError) as caught:
        read_dataset(_amlworld(tmp_path, rows), name="bad")
    assert caught.value.total == 500
    assert len(caught.value.issues) == 50
    assert [issue.line for issue in caught.value.issues] == list(range(2, 52))


def test_a_wrong_header_is_rejected_at_line_one(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "Timestamp,From Bank,Account\n2022/09/01 00:20,1,A\n")
    with pytest.raises(IngestError) as caught:
        read_dataset(path, name="x", fmt="amlworld")
    assert caught.value.issues[0].line == 1
    with pytest.raises(IngestError, match="unknown format"):
        read_dataset(path, name="x")


def _amlsim(folder: Path, nodes: str, transactions: str) -> Path:
    _write(folder / "nodes.csv", "nodeid,isFraud,init_balance,fraudStep\n" + nodes)
    _write(folder / "transactions.csv", "sourceNodeId,targetNodeId,value,time\n" + transactions)
    return folder


def test_amlsim_folder_reads_account_labels_and_steps_as_days(tmp_path: Path) -> None:
    folder = _amlsim(
        tmp_path / "sim",
        "10,0,100.0,-1\n11,1,50.0,3\n12,0,10.0,-1\n",
        "10,11,5.5,2\n11,12,3.25,0\n",
    )
    assert detect_format(folder) == "amlsim"
    data = read_dataset(folder, name="sim")
    data.validate()
    assert data.label_level == "account"
    assert list(data.accounts["account"]) == ["10", "11", "12"]
    assert list(data.accounts["label"]) == [0, 1, 0]
    assert set(data.accounts["bank"]) == {"amlsim"}
    txns = data.transactions
    assert list(txns["ts"]) == [AMLSIM_EPOCH, AMLSIM_EPOCH + 2 * 86_400]
    assert list(zip(txns.src, txns.dst, strict=True)) == [(1, 2), (0, 1)]
    assert txns["label"].isna().all()
    assert set(txns["currency"]) == {"USD"} and set(txns["payment_format"]) == {"transfer"}


def test_amlsim_unknown_accounts_and_bad_values_are_reported(tmp_path: Path) -> None:
    folder = _amlsim(
        tmp_path / "sim",
        "0,0,1,-1\n1,0,1,-1\n",
        "0,1,5,1\n0,7,5,1\nx,1,5,1\n0,1,-2,1\n0,1,5,-1\n",
    )
    with pytest.raises(IngestError) as caught:
        read_dataset(folder, name="sim")
    found = {(i.line, i.reason.split(":")[0]) for i in caught.value.issues}
    assert found == {
        (3, "targetNodeId is not an account in nodes.csv"),
        (4, "sourceNodeId is not an integer"),
        (5, "value is negative"),
        (6, "time step is negative"),
    }
    assert all(i.file == "transactions.csv" for i in caught.value.issues)


def test_amlsim_bad_labels_and_duplicate_nodes(tmp_path: Path) -> None:
    folder = _amlsim(tmp_path / "sim", "0,0,1,-1\n1,2,1,-1\n0,1,1,-1\n", "0,1,5,1\n")
    with pytest.raises(IngestError) as caught:
        read_dataset(folder, name="sim")
    assert {(i.file, i.line) for i in caught.value.issues} == {("nodes.csv", 3), ("nodes.csv", 4)}


CANONICAL = (
    "transaction_id,timestamp,from_bank,from_account,to_bank,to_account,amount,currency,"
    "payment_format,is_laundering\n"
)


def test_canonical_with_accounts_file_and_unknown_labels(tmp_path: Path) -> None:
    folder = tmp_path / "canon"
    _write(
        folder / "transactions.csv",
        CANONICAL
        + "t1,2024-03-01T10:00:00Z,bankA,a1,bankB,b1,100.0,EUR,wire,\n"
        + "t2,2024-03-01T09:00:00+01:00,bankB,b1,bankA,a2,50,EUR,card,\n",
    )
    _write(folder / "accounts.csv", "bank,account,is_laundering\nbankA,a2,1\nbankC,c9,0\n")
    assert detect_format(folder) == "canonical"
    data = read_dataset(folder, name="canon")
    data.validate()
    assert data.label_level == "account"  # only accounts.csv carries labels
    assert data.transactions["label"].isna().all()
    assert list(data.transactions["ts"]) == [
        pd.Timestamp("2024-03-01T08:00Z").timestamp(),
        pd.Timestamp("2024-03-01T10:00Z").timestamp(),
    ]
    labels = {a: v for a, v in zip(data.accounts.account, data.accounts.label, strict=True)}
    assert labels["a2"] == 1 and labels["c9"] == 0  # listed without transactions, still present
    assert pd.isna(labels["a1"]) and pd.isna(labels["b1"])


def test_canonical_rejects_duplicate_ids_and_bad_times(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.csv",
        CANONICAL
        + "t1,2024-03-01T10:00:00Z,A,a,B,b,1,EUR,wire,0\n"
        + "t1,2024-03-01T11:00:00Z,A,a,B,b,1,EUR,wire,0\n"
        + "t3,yesterday,A,a,B,b,1,EUR,wire,0\n"
        + "t4,2024-03-01T11:00:00Z,A,a,B,b,1,EUR,wire,2\n",
    )
    with pytest.raises(IngestError) as caught:
        read_dataset(path, name="c")
    assert {(i.line, i.reason.split(":")[0]) for i in caught.value.issues} == {
        (3, "transaction_id appears more than once"),
        (4, "timestamp is not ISO 8601"),
        (5, "is_laundering must be 0, 1 or blank"),
    }


def test_archives_are_read_like_their_folder(tmp_path: Path) -> None:
    folder = _amlsim(tmp_path / "pack" / "mini", "0,1,1,-1\n1,0,1,-1\n", "0,1,5,1\n1,0,4,2\n")
    archive = tmp_path / "mini.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="mini")
    data = read_dataset(archive, name="mini")
    assert data.source_format == "amlsim" and data.n_transactions == 2
    assert np.array_equal(data.accounts["label"].to_numpy(dtype=int), [1, 0])


def test_packaged_samples_parse(tmp_path: Path) -> None:
    from twincore.services.aml.ingest.samples import sample_dir, sample_typology

    folder = sample_dir("20K_fanin200", cache_dir=tmp_path)
    data = read_dataset(folder, name="fanin")
    data.validate()
    assert (data.n_accounts, data.n_transactions) == (20_000, 118_250)
    assert int(data.accounts["label"].sum()) == 954  # metadata.txt: 954 fraud nodes
    assert sample_typology(folder) == "fan_in"


def test_a_file_without_rows_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no transactions"):
        read_dataset(_amlworld(tmp_path, "\n"), name="empty")
    with pytest.raises(IngestError, match="no transactions"):
        read_dataset(_write(tmp_path / "c.csv", CANONICAL), name="empty")
    with pytest.raises(IngestError, match="no transactions"):
        read_dataset(_amlsim(tmp_path / "sim", "0,0,1,-1\n", ""), name="empty")
    with pytest.raises(IngestError, match="empty file"):
        read_dataset(_write(tmp_path / "nothing.csv", ""), name="empty", fmt="canonical")
