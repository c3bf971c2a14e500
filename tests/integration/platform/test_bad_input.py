"""Every route of the in-process gateway refuses bad input with a clean 4xx JSON error: a body
that is not JSON, a body of the wrong shape, an unknown id, a bad query value. No answer carries
a traceback, an ANSI colour code or a server path. (The same sweep runs under Ray Serve in
test_serve_app.py.)"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

from .sweep import bad_requests, check_refusal, send


def test_every_route_refuses_bad_input_cleanly(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    app, _ = build_embedded_app(make_settings(), smol_cores)
    with serve_in_background(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        document = client.get("/openapi.json").json()
        requests = bad_requests(document)
        problems = [check_refusal(r, send(client, r)) for r in requests]
    service_paths = {r.path.split("/")[2] for r in requests if r.path.startswith("/v1/")}
    assert {"aml", "support", "codegen", "writing", "tutor", "chat"} <= service_paths
    assert len(requests) > 60
    failures = [p for p in problems if p]
    assert failures == [], f"{len(failures)} of {len(requests)} refusals are wrong:\n" + "\n".join(
        failures
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [
        ("GET", "/v1/no-such-route", 404, "not_found_error"),
        ("DELETE", "/v1/models", 405, "invalid_request_error"),
    ],
)
def test_unknown_routes_answer_the_same_error_shape(
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
    method: str,
    path: str,
    status: int,
    kind: str,
) -> None:
    app, _ = build_embedded_app(make_settings(), smol_cores, components=())
    with serve_in_background(app) as base, httpx.Client(base_url=base) as client:
        response = client.request(method, path)
    assert response.status_code == status
    assert response.json()["error"]["type"] == kind
