"""Codegen's checked cascade through the real gateway on real small cores: deep is Qwen2.5-Coder
0.5B, swift SmolLM2-135M (int8), the tests run in the real sandbox, the ladder is the packaged
policy's (first, repair, other), and the stored run keeps the escalation.

- Escalation: `count_vowels` asked `auto` goes to swift (code is cheap by the packaged policy).
  SmolLM2's greedy function fails the tests, and so does its repair after seeing their output;
  `other` asks deep afresh, and Qwen's greedy function passes. Greedy decoding makes each
  round the same on every run.
- Pass first time: the same task pinned to deep is that same greedy first answer: it passes on
  the first attempt and nothing escalates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.settings import Settings
from twincore.services.codegen.component import COMPONENTS

pytestmark = pytest.mark.anyio

MODELS = {"deep": "qwen2.5-coder-0.5b-instruct", "swift": "smollm2-135m-instruct"}
TASK = {
    "language": "python",
    "spec": "Return the number of vowels (a, e, i, o, u, upper or lower case) in the string s.",
    "signature": "def count_vowels(s: str) -> int:",
    "tests": (
        "assert count_vowels('Hello World') == 3\n"
        "assert count_vowels('AEIOUxyz') == 5\n"
        "assert count_vowels('') == 0\n"
    ),
    "samples": 1,
    "rounds": 1,
    "max_tokens": 256,
}


@pytest.fixture(scope="module")
def cores(session_data_dir: Path) -> Iterator[dict[str, CoreServer]]:
    backends = {
        name: NativeBackend(CoreProfile(name, model), data_dir=session_data_dir)
        for name, model in MODELS.items()
    }
    yield {name: CoreServer.from_backend(backend) for name, backend in backends.items()}
    for backend in backends.values():
        backend.close()


@pytest.fixture
async def client(
    cores: dict[str, CoreServer], session_data_dir: Path, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        data_dir=session_data_dir,  # converted weights and the router's classifier, once
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
    )
    upgrade(settings.database_url)
    services = [c for c in COMPONENTS if c.__class__.__name__ == "ServiceComponent"]
    app, _ = build_embedded_app(settings, cores, components=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=900) as http:
        yield http


async def generate(client: httpx.AsyncClient, model: str) -> dict[str, Any]:
    response = await client.post("/v1/codegen/generate", json={**TASK, "model": model})
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    stored = (await client.get(f"/v1/codegen/runs/{run['id']}")).json()
    assert stored["twincore"] == run["twincore"]  # the run row keeps the escalation
    return run


async def test_failing_tests_are_repaired_then_escalated_to_deep(
    client: httpx.AsyncClient,
) -> None:
    run = await generate(client, "auto")
    block = run["twincore"]
    steps = [(a["step"], a["core"], a["verdict"]) for a in block["attempts"]]
    assert steps == [
        ("first", "swift", "fail"),
        ("repair", "swift", "fail"),
        ("other", "deep", "pass"),
    ]
    reasons = block["attempts"][0]["reasons"]
    assert reasons[0].startswith("the code did not pass its tests")
    assert "stderr:" in reasons[1]  # the tests' output went to the repair turn
    assert block["escalated"] and block["verdict"]["passed"] and block["core"] == "deep"
    assert run["status"] == "passed" and run["core"] == "deep"
    (candidate,) = run["candidates"]
    rounds = [(a["round"], a["step"], a["status"]) for a in candidate["attempts"]]
    assert [r[:2] for r in rounds] == [(0, "first"), (1, "repair"), (2, "other")]
    assert rounds[-1][2] == "ok" and "ok" not in [r[2] for r in rounds[:2]]
    assert run["code"] == candidate["attempts"][-1]["code"]


async def test_deep_passes_the_same_task_on_the_first_attempt(client: httpx.AsyncClient) -> None:
    run = await generate(client, "deep")
    block = run["twincore"]
    assert [(a["step"], a["core"], a["verdict"]) for a in block["attempts"]] == [
        ("first", "deep", "pass")
    ]
    assert not block["escalated"] and run["status"] == "passed"
    assert block["decision"]["core"] == "deep" == run["decision"]["core"]
    assert len(run["candidates"][0]["attempts"]) == 1
