"""Faults on the real stack (one Ray Serve start for the module, AML and support behind the
gateway, both cores remote at a stub that holds every completion until told: no model is
needed): a service replica killed mid-request, the embedded graph's daemon killed, PostgreSQL
stopped and restarted during a stream of writes."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray
from filelock import FileLock
from ray import serve
from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import POSTGRES_URL, _drop_everything
from twincore.platform.app import build_application
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.errors import Unavailable
from twincore.platform.graph.falkordb_daemon import find_daemons
from twincore.platform.launcher import ray_cluster
from twincore.platform.requestlog import RequestLogEntry
from twincore.platform.settings import CoreConfig, CoresConfig, Settings

from .conftest import free_port

MODULES = ("twincore.services.aml.component", "twincore.services.support.component")
SAMPLE = "20K_cycle200"
ORDER_QUESTION = "Status of my order 10248?"  # a template intent: answered with no model
WAIT_S = 90.0  # the longest any fault may take to clear (Serve restoring a replica)


def postgres_cluster() -> tuple[str, str] | None:
    """(version, name) of the local Debian cluster serving POSTGRES_URL, when this process may
    stop and start it (CI runs as root; see .ci/run); None otherwise."""
    if not POSTGRES_URL or shutil.which("pg_lsclusters") is None or os.geteuid() != 0:
        return None
    url = make_url(POSTGRES_URL)
    if url.host not in ("127.0.0.1", "localhost") or url.port is None:
        return None
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        version, name, port, *_ = line.split()
        if int(port) == url.port:
            return version, name
    return None


class HeldUpstream(ThreadingHTTPServer):
    """An OpenAI-compatible endpoint that lists models (so the cores look healthy) and holds
    each completion until `release` is set, then refuses it with a 503."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HeldHandler)
        self.asked = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _HeldHandler(BaseHTTPRequestHandler):
    server: HeldUpstream

    def do_GET(self) -> None:
        self._answer(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.asked.set()
        self.server.release.wait(WAIT_S)
        self._answer(503, {"error": {"message": "held upstream released", "type": "stub"}})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@dataclass
class Stack:
    base: str
    settings: Settings
    cluster: tuple[str, str] | None
    upstream: HeldUpstream
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=60)

    def ask(self, question: str) -> httpx.Response:
        return self.client.post("/v1/support/ask", json={"question": question})

    def support_readiness(self) -> dict[str, Any]:
        report: dict[str, Any] = self.client.get("/readyz").json()["services"]["support"]
        return report

    def until(self, request: Any, ok: Any = lambda r: r.status_code < 300) -> httpx.Response:
        """Repeat `request()` until its response passes `ok`; fail after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                response: httpx.Response = request()
                if ok(response):
                    return response
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the fault did not clear in time"
            time.sleep(0.5)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = postgres_cluster()
    root = tmp_path_factory.mktemp("faults")
    upstream = HeldUpstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    remote: dict[str, Any] = {"backend": "openai", "base_url": upstream.url}
    port = free_port()
    settings = Settings(
        data_dir=root / "var",
        database_url=POSTGRES_URL if cluster else f"sqlite:///{root / 'twincore.db'}",
        # The writes here are many and fast; this module tests faults, not rate limits.
        gateway={"port": port, "rate_limit_per_minute": 100_000, "rate_limit_burst": 10_000},
        cores=CoresConfig(
            deep=CoreConfig(model="deep", **remote), swift=CoreConfig(model="swift", **remote)
        ),
    )
    # The CI database is shared with the other worker's PostgreSQL tests: held alone, as the
    # `database_url` fixture does, for the whole module (its restart would break theirs).
    name = hashlib.sha256(POSTGRES_URL.encode()).hexdigest()[:16]
    lock = FileLock(Path(tempfile.gettempdir()) / f"twincore-postgres-{name}.lock")
    with lock if cluster else nullcontext():
        if cluster:
            _drop_everything(POSTGRES_URL)
        upgrade(settings.database_url)
        with ray_cluster(settings):
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            serve.run(build_application(settings, modules=MODULES), name="twincore")
            stack = Stack(f"http://127.0.0.1:{port}", settings, cluster, upstream)
            yield stack
            stack.client.close()
            upstream.release.set()
        if cluster:
            _drop_everything(POSTGRES_URL)
    upstream.shutdown()


@pytest.fixture(scope="module")
def case_id(stack: Stack) -> int:
    """A case opened on the first alert of a detection run over the sample."""
    dataset = stack.client.post("/v1/aml/datasets/samples", json={"sample": SAMPLE})
    assert dataset.status_code == 201, dataset.text
    run = stack.client.post("/v1/aml/runs", json={"dataset_id": dataset.json()["id"]})
    assert run.status_code == 201, run.text
    [alert, *_] = stack.client.get(f"/v1/aml/runs/{run.json()['id']}/alerts").json()
    case = stack.client.post("/v1/aml/cases", json={"alert_id": alert["id"], "actor": "ana"})
    assert case.status_code == 201, case.text
    return int(case.json()["id"])


def test_killed_graph_daemon_answers_503_then_reattaches_with_its_data(stack: Stack) -> None:
    first = stack.ask(ORDER_QUESTION)
    assert first.status_code == 200, first.text
    assert stack.support_readiness()["ok"] is True
    graph = stack.settings.data_dir / "graph.db"
    [daemon] = find_daemons(graph)
    os.kill(daemon.pid, signal.SIGKILL)

    down = stack.support_readiness()
    assert down["ok"] is False and "knowledge graph is unavailable" in down["reason"], down
    failed = stack.ask(ORDER_QUESTION)
    assert failed.status_code == 503, failed.text
    assert "knowledge graph is unavailable" in failed.json()["error"]["message"]
    assert stack.support_readiness()["ok"] is False  # told so until a request re-attaches

    again = stack.ask(ORDER_QUESTION)
    assert again.status_code == 200, again.text
    assert again.json()["rows"] == first.json()["rows"]  # the same graph, replayed from its log
    assert stack.support_readiness()["ok"] is True
    assert [d.pid for d in find_daemons(graph)] != [daemon.pid]
    assert len(find_daemons(graph)) == 1


def test_killed_service_replica_fails_its_request_cleanly_and_nothing_is_half_stored(
    stack: Stack, case_id: int
) -> None:
    def draft() -> httpx.Response:
        path = f"/v1/aml/cases/{case_id}/narratives/draft"
        return stack.client.post(path, json={"actor": "ana"})

    before = stack.client.get(f"/v1/aml/cases/{case_id}").json()["events"]
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(draft)
        # The AML replica is awaiting the core, which the stub holds: the request is mid-way.
        assert stack.upstream.asked.wait(WAIT_S), in_flight.result().text
        [replica] = [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("SERVE_REPLICA") and "service-aml" in a["name"]
        ]
        ray.kill(ray.get_actor(replica, namespace="serve"))
        killed = in_flight.result(timeout=WAIT_S)
        stack.upstream.release.set()  # what the killed request left in the router may end
    assert killed.status_code >= 500, killed.text
    assert killed.json()["error"]["message"]

    # Serve starts a new replica; the next requests are served, nothing of the draft stored.
    case = stack.until(lambda: stack.client.get(f"/v1/aml/cases/{case_id}")).json()
    assert case["events"] == before
    assert stack.client.get(f"/v1/aml/cases/{case_id}/narratives").json() == []
    noted = stack.client.post(
        f"/v1/aml/cases/{case_id}/notes", json={"text": "after the restart", "actor": "ana"}
    )
    assert noted.status_code == 200, noted.text


@dataclass
class Writes:
    """The outcome of every write the stream sent: acknowledged ones and refusals."""

    acked_notes: list[str] = field(default_factory=list)
    acked_tickets: list[int] = field(default_factory=list)
    """Conversations whose exchange and then ticket were both acknowledged."""
    request_ids: list[str] = field(default_factory=list)
    refusals: list[httpx.Response] = field(default_factory=list)
    pending_notes: list[str] = field(default_factory=list)
    pending_tickets: list[int | None] = field(default_factory=list)
    """Refused: a conversation's ticket, or (None) the question itself."""


def test_postgres_restart_loses_no_acknowledged_write(stack: Stack, case_id: int) -> None:
    if stack.cluster is None:
        pytest.skip("needs TWINCORE_DATABASE_URL on a local PostgreSQL this test may restart")
    version, name = stack.cluster
    writes = Writes()
    stop = threading.Event()

    def note(body: str) -> httpx.Response:
        return stack.client.post(
            f"/v1/aml/cases/{case_id}/notes", json={"text": body, "actor": "ana"}
        )

    def record(response: httpx.Response) -> bool:
        if response.status_code < 300:
            writes.request_ids.append(response.headers["x-request-id"])
            return True
        writes.refusals.append(response)
        return False

    def not_solved(conversation_id: int) -> httpx.Response:
        return stack.client.post(f"/v1/support/conversations/{conversation_id}/not-solved")

    def stream() -> None:
        for i in itertools.count():
            if stop.is_set():
                return
            body = f"restart note {i}"
            (writes.acked_notes if record(note(body)) else writes.pending_notes).append(body)
            asked = stack.ask(ORDER_QUESTION)
            if not record(asked):
                writes.pending_tickets.append(None)
                continue
            conversation_id = asked.json()["conversation_id"]
            acked = record(not_solved(conversation_id))
            (writes.acked_tickets if acked else writes.pending_tickets).append(conversation_id)

    writer = threading.Thread(target=stream)
    writer.start()
    try:
        _wait(lambda: len(writes.acked_notes) >= 2)
        subprocess.run(["pg_ctlcluster", version, name, "stop", "-m", "fast"], check=True)
        _wait(lambda: len(writes.refusals) >= 2)
        subprocess.run(["pg_ctlcluster", version, name, "start"], check=True)
        after = len(writes.acked_notes)
        _wait(lambda: len(writes.acked_notes) >= after + 2)
    finally:
        stop.set()
        writer.join(timeout=WAIT_S)
        subprocess.run(["pg_ctlcluster", version, name, "start"], check=False)

    for refusal in writes.refusals:  # a clean refusal, never a 500 or a hang
        assert refusal.status_code == 503, refusal.text
        assert refusal.json()["error"]["message"], refusal.text
    for body in writes.pending_notes:  # every refused write succeeds on retry
        writes.acked_notes.append(body)
        record(stack.until(lambda body=body: note(body)))
    for pending in writes.pending_tickets:
        if pending is None:
            pending = int(stack.until(lambda: stack.ask(ORDER_QUESTION)).json()["conversation_id"])
        record(stack.until(lambda pending=pending: not_solved(pending)))
        writes.acked_tickets.append(pending)

    events = stack.client.get(f"/v1/aml/cases/{case_id}").json()["events"]
    notes = [e["detail"] for e in events if (e["detail"] or "").startswith("restart note")]
    assert sorted(notes) == sorted(writes.acked_notes)  # each once: none lost, none doubled
    tickets = stack.client.get("/v1/support/tickets", params={"limit": 1000}).json()
    ticketed = [t["conversation_id"] for t in tickets]
    for conversation_id in writes.acked_tickets:  # the exchange and its ticket, each once
        conversation = stack.client.get(f"/v1/support/conversations/{conversation_id}")
        assert conversation.status_code == 200 and ticketed.count(conversation_id) == 1
    logged = _logged(stack.settings, writes.request_ids)
    assert set(logged) == set(writes.request_ids)


def _wait(condition: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the write stream stalled"
        time.sleep(0.1)


def _logged(settings: Settings, request_ids: list[str]) -> list[str]:
    """The request ids the request log holds (written after each response, so polled)."""
    engine = create_db_engine(settings.database_url)
    try:
        deadline = time.monotonic() + 30  # a batch from the outage is retried
        while True:
            with session_scope(session_factory(engine)) as session:
                query = select(RequestLogEntry.request_id).where(
                    RequestLogEntry.request_id.in_(request_ids)
                )
                found = list(session.scalars(query))
            if set(found) >= set(request_ids) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_unreachable_database_fails_a_transaction_as_unavailable() -> None:
    url = f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/none"
    engine = create_db_engine(url)
    try:
        with pytest.raises(Unavailable, match="database is unavailable") as refused:
            _run(engine, "SELECT 1")
        assert "secret" not in str(refused.value) and "127.0.0.1" not in str(refused.value)
    finally:
        engine.dispose()


def test_a_wrong_statement_stays_an_error_of_its_own(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(OperationalError, match="no such table"):
            _run(engine, "SELECT * FROM missing")
    finally:
        engine.dispose()


def _run(engine: Engine, statement: str) -> None:
    with session_scope(session_factory(engine)) as session:
        session.execute(text(statement))
