"""The codegen REST API in the real gateway (in-process) over SQLite, real SmolLM2 cores and the
real sandbox: run, generate (the loop with a real model), runs; bad input refused, not stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.settings import Settings
from twincore.services.codegen.component import COMPONENTS

pytestmark = pytest.mark.anyio

ADD = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
JAVA = "class Solution { static int twice(int x) { return 2 * x; } }"
JAVA_TESTS = (
    "public class Main { public static void main(String[] a) {"
    ' if (Solution.twice(21) != 42) throw new AssertionError("twice"); } }'
)


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> AsyncIterator[httpx.AsyncClient]:
    services = [c for c in COMPONENTS if c.__class__.__name__ == "ServiceComponent"]
    app, _state = build_embedded_app(make_settings(), smol_cores, components=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=600) as http:
        yield http


async def test_run_passes_fails_and_is_stored(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        "/v1/codegen/run", json={"language": "python", "code": ADD, "tests": TESTS}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "passed"
    bad = ADD.replace("a + b", "a - b")
    failed = await client.post(
        "/v1/codegen/run", json={"language": "python", "code": bad, "tests": TESTS}
    )
    attempt = failed.json()["candidates"][0]["attempts"][0]
    assert failed.json()["status"] == "failed"
    assert attempt["status"] == "failed" and "AssertionError" in attempt["stderr"]
    java = await client.post(
        "/v1/codegen/run", json={"language": "java", "code": JAVA, "tests": JAVA_TESTS}
    )
    assert java.json()["status"] == "passed", java.text
    runs = (await client.get("/v1/codegen/runs")).json()
    assert [r["language"] for r in runs] == ["java", "python", "python"]
    stored = (await client.get(f"/v1/codegen/runs/{runs[1]['id']}")).json()
    assert stored["candidates"][0]["attempts"][0]["code"] == bad
    assert (await client.get("/v1/codegen/runs/999999")).status_code == 404


async def test_bad_input_is_refused_with_a_message_and_not_stored(
    client: httpx.AsyncClient,
) -> None:
    cases = [
        ("/v1/codegen/run", {"language": "cobol", "code": "x"}),
        ("/v1/codegen/run", {"language": "python", "code": ""}),
        ("/v1/codegen/generate", {"language": "python"}),
        ("/v1/codegen/generate", {"language": "python", "spec": "x", "samples": 99}),
        ("/v1/codegen/generate", {"language": "python", "spec": "x", "rounds": -1}),
    ]
    for path, body in cases:
        response = await client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["error"]["message"]
    assert (await client.get("/v1/codegen/runs")).json() == []


async def test_generate_runs_the_loop_on_a_real_core_and_stores_every_round(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "language": "python",
        "spec": "Write a function add(a, b) that returns the sum of a and b.",
        "signature": "def add(a, b):",
        "tests": TESTS,
        "model": "swift",
        "samples": 1,
        "rounds": 1,
        "max_tokens": 96,
    }
    response = await client.post("/v1/codegen/generate", json=body)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] in ("passed", "failed") and run["kind"] == "generate"
    assert run["decision"]["core"] == "swift"
    (candidate,) = run["candidates"]
    assert 1 <= len(candidate["attempts"]) <= 2
    statuses = [a["status"] for a in candidate["attempts"]]
    assert all(s in ("ok", "failed", "timeout", "memory", "killed") for s in statuses)
    assert (run["status"] == "passed") == (statuses[-1] == "ok")
    assert len(candidate["attempts"]) == 1 or statuses[0] != "ok"  # repaired only on failure
    assert run["code"] == candidate["attempts"][-1]["code"]
