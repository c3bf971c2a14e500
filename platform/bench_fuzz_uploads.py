"""Upload fuzzing: AML dataset files built to look almost right (the real headers of the
canonical, AMLworld and AMLSim formats over rows of odd values, in CSV files and .tgz/.zip
archives) posted to `POST /v1/aml/datasets`, where the parsers must refuse bad ones with a 4xx.

Schemathesis's own cases carry random bytes, which never get past format detection; these reach
the field parsers, the archive extraction and the graph building behind them.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

import hypothesis
import requests
from hypothesis import strategies as st

from twincore.platform.bench_fuzz import DELIBERATE, OperationReport, add_sample, seeded

UPLOAD_ROUTE = "/v1/aml/datasets"
LABEL = "POST /v1/aml/datasets (CSV and archive files)"
HEADERS = {
    "canonical": [
        "transaction_id", "timestamp", "from_bank", "from_account", "to_bank", "to_account",
        "amount", "currency", "payment_format", "is_laundering",
    ],
    "amlworld": [
        "Timestamp", "From Bank", "Account", "To Bank", "Account", "Amount Received",
        "Receiving Currency", "Amount Paid", "Payment Currency", "Payment Format", "Is Laundering",
    ],
    "amlsim": ["sourceNodeId", "targetNodeId", "value", "time"],
}  # fmt: skip
NODES_HEADER = ["nodeid", "isFraud"]

# Values a field parser meets in the wild: plausible ones and the ones that break parsers.
fields = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "1e308", "nan", "inf", "2022-09-01T00:08:00", "USD"]),
    st.sampled_from(["2022/09/01 00:08", "Cheque", "ACH", "8000EBD30", '"', "a,b", "\u00e9\u4e2d"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)
rows = st.lists(st.lists(fields, min_size=0, max_size=12), min_size=0, max_size=8)


def _csv(header: list[str], body: list[list[str]]) -> bytes:
    lines = [",".join(header), *(",".join(row) for row in body)]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(file name, content, format field) of one upload."""
    fmt = draw(st.sampled_from(["canonical", "amlworld", "amlsim"]))
    header = HEADERS[fmt] if draw(st.booleans()) else draw(st.permutations(HEADERS[fmt]))
    transactions = _csv(header, draw(rows))
    declared = draw(st.sampled_from(["auto", fmt, "canonical", "amlworld", "amlsim"]))
    container = draw(st.sampled_from(["csv", "tgz", "zip", "garbage"]))
    if container == "csv":
        return "transactions.csv", transactions, declared
    if container == "garbage":
        suffix = draw(st.sampled_from([".tgz", ".zip", ".csv", ".tar.gz"]))
        return f"upload{suffix}", draw(st.binary(max_size=200)), declared
    files = {"transactions.csv": transactions}
    if fmt == "amlsim" or draw(st.booleans()):
        files["nodes.csv"] = _csv(NODES_HEADER, draw(rows))
    folder = draw(st.sampled_from(["", "data/", "../", "a/b/"]))
    return (
        f"upload.{container}",
        _archive(container, {folder + n: d for n, d in files.items()}),
        declared,
    )


def _archive(kind: str, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w") as zipped:
            for name, data in files.items():
                zipped.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fuzz_uploads(
    url: str, examples: int, session: requests.Session, report: OperationReport
) -> None:
    """Post `examples` generated dataset files; any 5xx other than a deliberate one counts."""

    @seeded(examples)
    @hypothesis.given(uploads())
    def run(upload: tuple[str, bytes, str]) -> None:
        filename, content, fmt = upload
        report.requests += 1
        try:
            response = session.post(
                url + UPLOAD_ROUTE,
                files={"file": (filename, content)},
                data={"name": "fuzzed upload", "format": fmt},
                timeout=120,
            )
        except requests.RequestException as error:
            report.server_errors += 1
            add_sample(report, f"{filename} ({fmt}): no response ({error})")
            return
        status = str(response.status_code)
        report.statuses[status] = report.statuses.get(status, 0) + 1
        if response.status_code >= 500 and response.status_code not in DELIBERATE:
            report.server_errors += 1
            add_sample(report, f"{filename} ({fmt}) -> {status}: {response.text[:300]}")

    run()
