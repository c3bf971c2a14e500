"""The seeded fuzz subset: schemathesis against every route of the in-process platform (cores
nobody answers at), a few derandomized cases per operation plus generated AML dataset files; no
answer may be a 5xx other than the deliberate 503 or break its documented schema. The bigger
campaign is `twincore bench fuzz`."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from twincore.platform.bench_fuzz import FuzzReport, fuzz, in_process_platform
from twincore.platform.embedded import serve_in_background
from twincore.services.aml.ingest.formats import IngestError, read_dataset

SEEDED_EXAMPLES = 2
SERVICES = ("aml", "codegen", "support", "tutor", "writing")
JSON = "application/json"
SIZE = {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}}


def _problems(report: FuzzReport) -> str:
    return "\n".join(
        f"{name}: {op.server_errors} server errors, {op.schema_failures} schema failures, "
        f"{op.timeouts} timeouts: " + " | ".join(op.samples)
        for name, op in report.operations.items()
        if op.server_errors or op.schema_failures or op.timeouts
    )


@pytest.mark.slow
def test_seeded_fuzz_finds_no_server_error_on_any_route() -> None:
    with in_process_platform() as url:
        report = fuzz(url, examples=SEEDED_EXAMPLES)
    labels = " ".join(report.operations)
    assert all(f"/v1/{service}/" in labels for service in SERVICES)
    assert "POST /v1/chat/completions" in report.operations
    uploads = report.operations["POST /v1/aml/datasets (CSV and archive files)"]
    assert uploads.requests == 2 * SEEDED_EXAMPLES
    assert all(op.requests >= 1 for op in report.operations.values())
    problems = (report.server_errors, report.schema_failures, report.timeouts)
    assert problems == (0, 0, 0), _problems(report)


class Item(BaseModel):
    size: int


def test_fuzzing_counts_a_crashing_route_and_a_broken_response_schema() -> None:
    """The checks bite: a route that crashes on some inputs and one that answers outside its
    documented response model are both reported, per operation."""
    app = FastAPI()

    @app.get("/crash/{number}")
    def crash(number: int) -> dict[str, int]:
        return {"parity": 1 // (number % 2)}  # ZeroDivisionError (a 500) on even numbers

    @app.get("/item", response_model=Item)
    def item() -> dict[str, str]:
        return {"size": "large"}  # pydantic refuses to serialize it: a 500 as well

    @app.get("/lies", response_model=None, responses={200: {"content": {JSON: {"schema": SIZE}}}})
    def lies() -> JSONResponse:
        return JSONResponse({"size": "large"})  # documented as an integer

    with serve_in_background(app) as url:
        report = fuzz(url, examples=20, uploads=False)
    assert report.operations["GET /crash/{number}"].server_errors >= 1
    assert report.operations["GET /item"].server_errors >= 1
    assert report.operations["GET /crash/{number}"].statuses.get("200", 0) >= 1
    assert report.operations["GET /lies"].schema_failures >= 1
    assert report.operations["GET /lies"].server_errors == 0


@pytest.mark.parametrize(
    "rows",
    [
        'a1,2022-09-01T00:08:00,b1,x,b2,y,"10,USD,ACH\nt2,2022-09-01T00:09:00,b1,x,b2,y,5,USD,ACH',
        "t1,2022-09-01T00:08:00,b1,x\r,b2,y,10,USD,ACH",
    ],
    ids=["stray-quote", "bare-cr"],
)
def test_csv_with_a_stray_quote_or_bare_cr_is_refused_by_line(tmp_path: Path, rows: str) -> None:
    """Found by the upload fuzzer: pandas ran a stray quote over the next line (or ended a row
    at a bare CR), the rows no longer matched the line numbers and ingest crashed."""
    header = "transaction_id,timestamp,from_bank,from_account,to_bank,to_account,amount,currency,"
    path = tmp_path / "transactions.csv"
    path.write_bytes((header + "payment_format\n" + rows + "\n").encode())
    with pytest.raises(IngestError) as refused:
        read_dataset(path, name="fuzzed")
    assert any(issue.line == 2 for issue in refused.value.issues)
