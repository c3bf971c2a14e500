"""The real app in Ray Serve on the default weights (deep: Qwen2.5-Coder-1.5B, swift: SmolLM2),
spoken to with the official `openai` client and with TwincoreChatModel; a second app instance
uses the first one's gateway as its remote cores."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import ray
from openai import OpenAI
from ray import serve
from sqlalchemy import select

from twincore.platform.app import build_application
from twincore.platform.auth import create_api_key
from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.launcher import ray_cluster
from twincore.platform.requestlog import RequestLogEntry
from twincore.platform.serve_handles import RouterHandleClient
from twincore.platform.settings import CoreConfig, CoresConfig, Settings, secret_key_bytes

from .conftest import free_port
from .sweep import bad_requests, check_refusal, send

pytestmark = pytest.mark.anyio
UPSTREAM_KEY_ENV = "TC_TEST_UPSTREAM_KEY"  # read by the mirror app's replicas
QUESTION = [{"role": "user", "content": "What is 2 + 2? Answer with one number."}]
COUNTING = [{"role": "user", "content": "Count from 1 to 300, one number per line."}]
HI = [{"role": "user", "content": "Say hi."}]
ONE_WORD = {"model": "swift", "messages": HI, "max_tokens": 2}


@dataclass(frozen=True)
class Platform:
    base: str
    token: str
    settings: Settings

    def openai(self, prefix: str = "") -> OpenAI:
        return OpenAI(base_url=f"{self.base}{prefix}/v1", api_key=self.token, max_retries=0)

    def logged(self, request_ids: list[str], timeout_s: float = 10.0) -> dict[str, RequestLogEntry]:
        """The request log's rows for these ids (written after the response, so polled)."""
        sessions = session_factory(create_db_engine(self.settings.database_url))
        deadline = time.monotonic() + timeout_s
        while True:
            with session_scope(sessions) as session:
                query = select(RequestLogEntry).where(RequestLogEntry.request_id.in_(request_ids))
                rows = {row.request_id: row for row in session.scalars(query)}
            if len(rows) == len(set(request_ids)) or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


def remote_cores(base_url: str, *, deep_url: str | None = None) -> CoresConfig:
    """Both cores over HTTP."""

    def remote(model: str, url: str) -> CoreConfig:
        return CoreConfig(backend="openai", model=model, base_url=url, api_key_env=UPSTREAM_KEY_ENV)

    return CoresConfig(deep=remote("deep", deep_url or base_url), swift=remote("swift", base_url))


@pytest.fixture(scope="module")
def platform(
    session_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    database = tmp_path_factory.mktemp("serve") / "twincore.db"
    port = free_port()
    settings = Settings(
        data_dir=session_data_dir,
        database_url=f"sqlite:///{database}",
        auth={"require_api_key": True},
        gateway={"port": port},
        # The real deep default on its own: with its draft and a Qwen swift (test_up.py serves
        # those) this module's three apps outgrow the CI machine's memory.
        cores={"deep": {"draft": None}, "swift": {"model": "smollm2-135m-instruct"}},
    )
    upgrade(settings.database_url)
    with session_scope(session_factory(create_db_engine(settings.database_url))) as session:
        _, token = create_api_key(session, name="tests", secret_key=secret_key_bytes(settings))
    os.environ[UPSTREAM_KEY_ENV] = token  # before Ray starts, so its workers inherit it
    base = f"http://127.0.0.1:{port}"
    mirror = settings.model_copy(update={"cores": remote_cores(f"{base}/v1")})
    dead = f"http://127.0.0.1:{free_port()}/v1"
    cores = remote_cores(f"{base}/v1", deep_url=dead)
    broken = settings.model_copy(update={"cores": cores})
    # Sized for all three apps: each gateway reserves CPU, and one too few leaves an app
    # waiting for a place forever.
    with ray_cluster(settings, serving=(settings, mirror, broken)):
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_application(settings), name="twincore", route_prefix="/")
        serve.run(build_application(mirror, modules=()), name="mirror", route_prefix="/mirror")
        serve.run(build_application(broken, modules=()), name="broken", route_prefix="/broken")
        yield Platform(base, token, settings)
    os.environ.pop(UPSTREAM_KEY_ENV, None)


# `auto`: the router deployment's two-stage policy sends arithmetic to deep (swift cannot add).
ROUTES = [("auto", "deep"), ("deep", "deep"), ("swift", "swift")]


@pytest.mark.parametrize(("model", "core"), ROUTES)
def test_openai_client_non_stream_shows_the_decision(
    platform: Platform, model: str, core: str
) -> None:
    raw = platform.openai().chat.completions.with_raw_response.create(
        model=model,
        messages=QUESTION,
        max_tokens=8,  # type: ignore[arg-type]
    )
    completion = raw.parse()
    assert raw.headers["x-twincore-core"] == core
    assert completion.model == core
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens <= 8
    decision = (completion.model_extra or {})["twincore"]
    assert decision["core"] == core and decision["fallback_from"] is None
    if model == "auto":
        assert decision["labels"]["domain"] == "math" and "deep score" in decision["reason"]


@pytest.mark.parametrize(("model", "core"), ROUTES)
def test_openai_client_stream_ends_with_the_decision(
    platform: Platform, model: str, core: str
) -> None:
    stream = platform.openai().chat.completions.create(
        model=model,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    final = chunks[-1]
    assert final.usage is not None and final.usage.completion_tokens <= 8
    assert (final.model_extra or {})["twincore"]["core"] == core
    assert {c.model for c in chunks} == {core}


def test_deep_core_runs_the_default_qwen_weights(platform: Platform) -> None:
    models = platform.openai().models.list()
    info = {m.id: (m.model_extra or {}).get("twincore", {}) for m in models.data}
    assert info["deep"]["model"] == "qwen2.5-coder-1.5b-instruct"
    assert info["deep"]["draft"] is None  # turned off above
    assert info["swift"]["model"] == "smollm2-135m-instruct"
    assert info["deep"]["quantization"] == "int8"


async def test_twincore_chat_model_over_http_and_over_the_router_handle(
    platform: Platform,
) -> None:
    over_http = TwincoreChatModel.over_http(
        f"{platform.base}/v1", api_key=platform.token, model="deep", max_tokens=8
    )
    router = RouterHandleClient(serve.get_deployment_handle("router", app_name="twincore"))
    over_handle = TwincoreChatModel.over_router(router, model="deep", max_tokens=8)
    by_http = await over_http.ainvoke("What is 2 + 2? Answer with one number.")
    by_handle = await over_handle.ainvoke("What is 2 + 2? Answer with one number.")
    assert by_http.content == by_handle.content  # greedy on the same core
    for message in (by_http, by_handle):
        assert message.response_metadata["core"] == "deep"
        assert message.response_metadata["decision"]["reason"] == "explicit model 'deep'"
    streamed = [c async for c in over_handle.astream("Say hi.")]
    assert streamed[-1].response_metadata["core"] == "deep"


def test_a_second_instance_answers_through_the_first_gateway(platform: Platform) -> None:
    direct = platform.openai().chat.completions.create(
        model="deep",
        messages=QUESTION,
        max_tokens=8,  # type: ignore[arg-type]
    )
    mirrored = platform.openai("/mirror").chat.completions.create(
        model="deep",
        messages=QUESTION,
        max_tokens=8,  # type: ignore[arg-type]
    )
    assert mirrored.choices[0].message.content == direct.choices[0].message.content
    decision = (mirrored.model_extra or {})["twincore"]
    assert decision["core"] == "deep"
    mirror_info = {m.id: m.model_extra for m in platform.openai("/mirror").models.list().data}
    assert (mirror_info["deep"] or {})["twincore"]["backend"] == "openai"


def test_a_dead_core_falls_back_and_the_decision_records_it(platform: Platform) -> None:
    raw = platform.openai("/broken").chat.completions.with_raw_response.create(
        model="deep",
        messages=QUESTION,
        max_tokens=8,  # type: ignore[arg-type]
    )
    decision = (raw.parse().model_extra or {})["twincore"]
    assert raw.headers["x-twincore-core"] == "swift"
    assert decision["fallback_from"] == "deep" and "cannot reach" in decision["fallback_error"]
    row = platform.logged([raw.headers["x-request-id"]])[raw.headers["x-request-id"]]
    assert row.fallback and row.core == "swift" and row.model == "deep"


def test_unknown_key_is_refused_through_the_proxy(platform: Platform) -> None:
    response = httpx.post(
        f"{platform.base}/v1/chat/completions",
        json={"messages": QUESTION},
        headers={"Authorization": "Bearer tc_00000000_forged"},
    )
    assert response.status_code == 401


def test_every_request_has_a_row_in_the_request_log(platform: Platform) -> None:
    ids = []
    for body in ({"model": "swift", "messages": QUESTION, "max_tokens": 2}, {"messages": []}):
        response = httpx.post(
            f"{platform.base}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {platform.token}"},
            timeout=60,
        )
        ids.append((response.headers["x-request-id"], response.status_code))
    rows = platform.logged([request_id for request_id, _ in ids])
    assert [(i, rows[i].status_code) for i, _ in ids] == ids
    assert rows[ids[0][0]].api_key_id is not None and rows[ids[0][0]].completion_tokens == 2


def test_hanging_up_a_stream_cancels_it_in_the_core(platform: Platform) -> None:
    long = {"model": "swift", "messages": QUESTION, "max_tokens": 400, "stream": True}
    headers = {"Authorization": f"Bearer {platform.token}"}
    with httpx.stream(
        "POST", f"{platform.base}/v1/chat/completions", json=long, headers=headers, timeout=60
    ) as response:
        assert next(line for line in response.iter_lines() if line.startswith("data:"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        swift = httpx.get(f"{platform.base}/readyz").json()["cores"]["swift"]
        if swift["running"] == 0 and swift["waiting"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"swift still generates after the client left: {swift}")


def test_operations_endpoints_docs_and_ui(platform: Platform) -> None:
    ready = httpx.get(f"{platform.base}/readyz")
    assert ready.status_code == 200 and ready.json()["cores"]["deep"]["ok"]
    assert httpx.get(f"{platform.base}/healthz").json()["ok"] is True
    keyed = {"Authorization": f"Bearer {platform.token}"}  # every route but the probes
    assert httpx.get(f"{platform.base}/metrics").status_code == 401
    assert "twincore_requests_total" in httpx.get(f"{platform.base}/metrics", headers=keyed).text
    assert httpx.get(f"{platform.base}/docs", headers=keyed).status_code == 200
    paths = httpx.get(f"{platform.base}/openapi.json", headers=keyed).json()["paths"]
    assert {"/v1/chat/completions", "/v1/completions", "/v1/models"} <= set(paths)
    assert httpx.get(f"{platform.base}/ui/playground/", headers=keyed).status_code == 200
    page = {"Accept": "text/html"}  # a browser without a key is sent to the login form
    login = httpx.get(f"{platform.base}/ui/playground/", headers=page)
    assert login.status_code == 303 and "/login" in login.headers["location"]


def test_every_route_refuses_bad_input_cleanly_under_ray_serve(platform: Platform) -> None:
    # Service errors cross a Ray actor boundary here (gateway -> service replica): they must
    # arrive as the same clean 4xx JSON as in-process, never as Ray's wrapped trace.
    headers = {"Authorization": f"Bearer {platform.token}"}
    with httpx.Client(base_url=platform.base, headers=headers, timeout=120) as client:
        document = client.get("/openapi.json").json()
        requests = bad_requests(document)
        problems = [check_refusal(r, send(client, r)) for r in requests]
        missing_case = client.get("/v1/aml/cases/987654321")
    assert len(requests) > 60
    failures = [p for p in problems if p]
    assert failures == [], f"{len(failures)} of {len(requests)} refusals are wrong:\n" + "\n".join(
        failures
    )
    assert missing_case.status_code == 404
    assert missing_case.json()["error"]["type"] == "not_found_error"


def replicas(app: str, deployment: str) -> list[str]:
    """The actor names of a deployment's live replicas."""
    prefix = f"SERVE_REPLICA::{app}#{deployment}#"
    actors = ray.util.list_named_actors(all_namespaces=True)
    return sorted(a["name"] for a in actors if a["name"].startswith(prefix))


def read_stream(url: str, body: dict[str, object], headers: dict[str, str], out: list[str]) -> None:
    """Every data payload of one streamed answer, into `out`; a broken connection is noted."""
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=120) as response:
            out.extend(
                line[5:].strip() for line in response.iter_lines() if line.startswith("data:")
            )
    except httpx.HTTPError as error:
        out.append(f"broken: {error!r}")


def test_killing_a_core_replica_mid_stream_ends_every_stream_and_falls_back(
    platform: Platform,
) -> None:
    headers = {"Authorization": f"Bearer {platform.token}"}
    url = f"{platform.base}/v1/chat/completions"
    body: dict[str, object] = {"model": "swift", "messages": COUNTING, "max_tokens": 400}
    body |= {"stream": True}
    streams: list[list[str]] = [[] for _ in range(3)]
    threads = [
        threading.Thread(target=read_stream, args=(url, body, headers, out)) for out in streams
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while not all(streams):  # every stream has its first token: all are mid-answer
        assert time.monotonic() < deadline, streams
        time.sleep(0.05)
    [victim] = replicas("twincore", "swift")
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a stream hangs"
    for out in streams:  # each ends cleanly: a finished answer, or an error event; then [DONE]
        assert out[-1] == "[DONE]", out[-3:]
        last = json.loads(out[-2])
        assert "error" in last or last["choices"] == [], last
    cut = [json.loads(out[-2])["error"]["message"] for out in streams if "error" in out[-2]]
    assert cut and all("swift broke mid-stream" in message for message in cut)
    client = platform.openai()
    answer = client.chat.completions.create(
        model="swift",
        messages=HI,  # type: ignore[arg-type]
        max_tokens=2,
    )
    decision = (answer.model_extra or {})["twincore"]
    assert decision["core"] == "deep" and decision["fallback_from"] == "swift"
    assert decision["reason"].startswith("fallback: swift ")
    # Serve's controller starts a new replica; once it is loaded, swift answers again.
    deadline = time.monotonic() + 180
    while True:
        again = client.chat.completions.create(
            model="swift",
            messages=HI,  # type: ignore[arg-type]
            max_tokens=2,
        )
        if (again.model_extra or {})["twincore"]["core"] == "swift":
            break
        assert time.monotonic() < deadline, again.model_extra
        time.sleep(1)
    assert replicas("twincore", "swift") not in ([], [victim])
