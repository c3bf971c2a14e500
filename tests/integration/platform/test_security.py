"""Gateway security on the real app (SQLite, Gradio, a local Ray for the shared limits): keys on
every route and on the screens, the login cookie, keys never in logs, revocation across
gateways at once, one rate limit across replicas."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import gradio as gr
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from twincore.platform.auth import create_api_key, revoke_api_key
from twincore.platform.components import UiComponent, UiContext
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.gateway.deps import GatewayState
from twincore.platform.gateway.ratelimit import RateLimit
from twincore.platform.gateway.security import SESSION_COOKIE
from twincore.platform.gateway.shared_limits import SharedRateLimiter
from twincore.platform.requestlog import RequestLogEntry
from twincore.platform.settings import Settings, secret_key_bytes

from .conftest import dead_core

pytestmark = pytest.mark.anyio


def _echo_screen(_context: UiContext) -> gr.Blocks:
    demo = gr.Blocks()
    with demo:
        text = gr.Textbox()
        gr.Button("echo").click(lambda t: t, inputs=text, outputs=text, api_name="echo")
    return demo


ECHO_UI = UiComponent(name="echo", title="Echo", build=_echo_screen)


def build(settings: Settings) -> tuple[FastAPI, GatewayState]:
    """An in-process gateway with one Gradio screen; cores that nobody answers (not needed)."""
    cores = {name: dead_core(name) for name in ("deep", "swift")}
    return build_embedded_app(settings, cores, components=(ECHO_UI,))


def client(app: FastAPI, host: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def new_key(settings: Settings, name: str = "tests") -> tuple[int, str]:
    sessions = session_factory(create_db_engine(settings.database_url))
    with session_scope(sessions) as session:
        key, token = create_api_key(session, name=name, secret_key=secret_key_bytes(settings))
        return key.id, token


def _last_row_id(settings: Settings) -> int:
    sessions = session_factory(create_db_engine(settings.database_url))
    with session_scope(sessions) as session:
        last = session.scalar(select(func.max(RequestLogEntry.id)))
        return int(last or 0)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Keys required (what dev_mode=false implies), with a real secret, over a migrated SQLite."""
    folder = tmp_path_factory.mktemp("secure")
    settings = Settings(
        data_dir=folder / "var",
        database_url=f"sqlite:///{folder / 'twincore.db'}",
        auth={"require_api_key": True},
        secret_key="s3cret-for-tests-" * 2,
    )
    upgrade(settings.database_url)
    return settings


@pytest.fixture(scope="module")
def gateways(secure: Settings) -> list[tuple[FastAPI, GatewayState]]:
    """Two gateways over one database, as two replicas would be (built once: Gradio is slow)."""
    return [build(secure), build(secure)]


def _every_path(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route in the OpenAPI document, path parameters filled in, and
    the documents themselves."""
    found = [("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json")]
    for path, operations in app.openapi()["paths"].items():
        filled = path.replace("{", "").replace("}", "")
        found += [(method.upper(), filled) for method in operations if method != "head"]
    return found


async def test_every_route_and_the_screens_need_a_key(
    gateways: list[tuple[FastAPI, GatewayState]],
) -> None:
    app, _ = gateways[0]
    gradio_api = [
        ("GET", "/ui/echo/"),
        ("GET", "/ui/echo/config"),
        ("GET", "/ui/echo/gradio_api/info"),
        ("POST", "/ui/echo/gradio_api/queue/join"),
        ("POST", "/ui/echo/gradio_api/upload"),
        ("POST", "/ui/echo/gradio_api/call/echo"),
        ("GET", "/ui/echo/gradio_api/file=/etc/hostname"),
    ]
    open_paths = {"/healthz", "/readyz", "/login"}
    checked = [(m, p) for m, p in _every_path(app) if p not in open_paths] + gradio_api
    for route in ("/v1/chat/completions", "/v1/keys/revoke", "/metrics", "/docs", "/ui/echo/"):
        assert route in {p for _, p in checked}
    async with client(app) as anyone:
        refused = {(m, p): (await anyone.request(m, p)).status_code for m, p in checked}
        page = await anyone.get("/ui/echo/", headers={"Accept": "text/html"})
        health = await anyone.get("/healthz")
    assert {k: s for k, s in refused.items() if s != 401} == {}
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/ui/echo/"
    assert health.status_code == 200


async def test_the_login_form_gives_the_screens_a_session(
    secure: Settings, gateways: list[tuple[FastAPI, GatewayState]]
) -> None:
    key_id, token = new_key(secure, "browser")
    async with client(gateways[0][0]) as browser:
        wrong = await browser.post("/login", data={"key": token + "x", "next": "/ui/echo/"})
        good = await browser.post("/login", data={"key": token, "next": "https://evil.test/"})
        assert good.status_code == 303 and good.headers["location"] == "/ui/"
        cookie = good.cookies[SESSION_COOKIE]
        screen = await browser.get("/ui/echo/config")
        info = await browser.get("/ui/echo/gradio_api/info")
        whoami = await browser.get("/v1/whoami")
        browser.cookies.set(SESSION_COOKIE, cookie.replace(f"{key_id}.", f"{key_id + 1}.", 1))
        forged = await browser.get("/ui/echo/config")
    assert wrong.status_code == 401 and token not in wrong.text
    assert token not in cookie and cookie.startswith(f"{key_id}.")
    assert screen.status_code == 200 and info.status_code == 200
    assert whoami.json() == {"key_id": key_id, "name": "browser"}
    assert forged.status_code == 401


async def test_dev_mode_keeps_the_screens_open_to_loopback(
    gateways: list[tuple[FastAPI, GatewayState]],
) -> None:
    app, state = gateways[0]
    state.auth.require_key = False  # what dev mode sets (settings.auth.require_api_key)
    try:
        async with client(app, host="127.0.0.1") as local, client(app) as remote:
            assert (await local.get("/ui/echo/config")).status_code == 200
            assert (await local.get("/ui/echo/gradio_api/info")).status_code == 200
            assert (await remote.get("/ui/echo/config")).status_code == 401
    finally:
        state.auth.require_key = True


async def test_keys_never_reach_logs_rows_or_errors(
    secure: Settings,
    gateways: list[tuple[FastAPI, GatewayState]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key_id, token = new_key(secure)
    unknown = f"tc_{uuid.uuid4().hex[:8]}_{uuid.uuid4().hex}"
    app, state = gateways[0]
    assert state.log_writer.flush()
    first_row = _last_row_id(secure)
    body = {"model": token, "messages": [{"role": "user", "content": token}]}
    with caplog.at_level(logging.DEBUG):
        async with client(app) as caller:
            answers = [
                await caller.get("/v1/whoami", headers=bearer(token)),
                await caller.get("/v1/whoami", headers=bearer(unknown)),
                await caller.post("/v1/chat/completions", headers=bearer(token), json=body),
                await caller.post("/v1/chat/completions", headers=bearer(unknown), json=body),
                await caller.get("/metrics", headers=bearer(unknown)),
            ]
        assert state.log_writer.flush()
    assert [a.status_code for a in answers[:2]] == [200, 401]
    assert answers[1].json()["error"]["message"] == "unknown or revoked API key"
    for refused in (answers[1], answers[3], answers[4]):
        assert unknown not in refused.text and token not in refused.text
    sessions = session_factory(create_db_engine(secure.database_url))
    with session_scope(sessions) as session:
        query = select(RequestLogEntry).where(RequestLogEntry.id > first_row)
        rows = [vars(r) for r in session.scalars(query.order_by(RequestLogEntry.id))]
    assert len(rows) == 4 and rows[0]["api_key_id"] == key_id
    stored = repr(rows)
    assert token not in stored and unknown not in stored
    assert caplog.records  # the requests did log (access, errors); none of it holds a key
    assert token not in caplog.text and unknown not in caplog.text


async def test_a_key_revoked_on_one_gateway_is_refused_by_another_at_once(
    secure: Settings, gateways: list[tuple[FastAPI, GatewayState]]
) -> None:
    key_id, token = new_key(secure)
    other_id, other = new_key(secure, "other")
    async with client(gateways[0][0]) as first, client(gateways[1][0]) as second:
        before = [await g.get("/v1/whoami", headers=bearer(token)) for g in (first, second)]
        revoked = await first.post("/v1/keys/revoke", headers=bearer(token))
        after = await second.get("/v1/whoami", headers=bearer(token))
        again = await first.get("/v1/whoami", headers=bearer(token))
        sessions = session_factory(create_db_engine(secure.database_url))
        with session_scope(sessions) as session:  # the CLI's way (twincore keys revoke)
            revoke_api_key(session, key_id=other_id)
        by_cli = await second.get("/v1/whoami", headers=bearer(other))
    assert [b.status_code for b in before] == [200, 200]
    assert revoked.json() == {"key_id": key_id, "name": "tests", "revoked": True}
    assert after.status_code == 401 and again.status_code == 401
    assert by_cli.status_code == 401


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A private one-CPU Ray for the shared rate-limit actor (no Serve: the actor is the point)."""
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        address="local",
        num_cpus=1,
        include_dashboard=False,
        object_store_memory=80 * 2**20,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


async def test_replicas_share_one_rate_limit(
    secure: Settings, gateways: list[tuple[FastAPI, GatewayState]], local_ray: None
) -> None:
    _, token = new_key(secure)
    actor = f"rate-limits-{uuid.uuid4().hex[:8]}"
    states = [state for _, state in gateways]
    local = [state.limiter for state in states]
    for state in states:  # what build_state picks inside a Serve replica
        state.limiter = SharedRateLimiter(RateLimit(per_minute=1, burst=3), actor_name=actor)
    try:
        async with client(gateways[0][0]) as first, client(gateways[1][0]) as second:
            replicas = (first, second)
            statuses = [
                (await replicas[i % 2].get("/v1/whoami", headers=bearer(token))).status_code
                for i in range(6)
            ]
            limited = await second.get("/v1/whoami", headers=bearer(token))
    finally:
        for state, limiter in zip(states, local, strict=True):
            state.limiter = limiter
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["type"] == "rate_limit_exceeded"
