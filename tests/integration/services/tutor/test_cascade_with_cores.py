"""The tutor's checked cascade through the real gateway on real small cores: deep is Qwen2.5-Coder
0.5B, swift SmolLM2-135M (int8), programs run in the real sandbox, the ladder is the policy's.

- Escalation: under a policy whose deep threshold sends math to swift first (a cost-saving
  policy), GSM8K's first problem is asked `auto`. SmolLM2's greedy program refers to a variable
  it never defined (NameError), so the checker rejects it; `more` adds a sampled candidate that
  does not agree; `other` asks deep, whose program computes 72. Greedy decoding and seeded
  sampling make every rung the same on every run.
- Pass first time: with the packaged policy math goes to deep, and a two-number problem is
  written as a program that uses both numbers and computes 7: one attempt, not escalated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.evals.gsm8k import load_gsm8k
from twincore.platform.requestlog import recent_requests
from twincore.platform.router.rules import packaged_policy
from twincore.platform.settings import Settings
from twincore.services.tutor.component import COMPONENTS
from twincore.services.tutor.evals import SHIPPED_GSM8K

pytestmark = pytest.mark.anyio

MODELS = {"deep": "qwen2.5-coder-0.5b-instruct", "swift": "smollm2-135m-instruct"}
EASY = "Tom has 3 apples and buys 4 more. How many apples does he have now?"


@pytest.fixture(scope="module")
def cores(session_data_dir: Path) -> Iterator[dict[str, CoreServer]]:
    backends = {
        name: NativeBackend(CoreProfile(name, model), data_dir=session_data_dir)
        for name, model in MODELS.items()
    }
    yield {name: CoreServer.from_backend(backend) for name, backend in backends.items()}
    for backend in backends.values():
        backend.close()


def swift_first_policy(folder: Path) -> Path:
    """The packaged policy with a deep threshold no label reaches: `auto` math starts on swift."""
    policy = yaml.safe_load(packaged_policy().read_text(encoding="utf-8"))
    policy["deep_threshold"] = 0.99
    path = folder / "swift-first.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


async def ask(
    cores: dict[str, CoreServer],
    data_dir: Path,
    folder: Path,
    question: str,
    policy: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST the question to /v1/tutor/word (`auto`) on a gateway over `cores`: the answer and
    the request log's row for it."""
    settings = Settings(
        data_dir=data_dir,  # the session's: converted weights and the router's classifier
        database_url=f"sqlite:///{folder / 'twincore.db'}",
        router={"policy": policy},
    )
    upgrade(settings.database_url)
    app, state = build_embedded_app(settings, cores, components=list(COMPONENTS))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=900) as http:
        reply = await http.post("/v1/tutor/word", json={"question": question, "model": "auto"})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    assert state.log_writer.flush()
    (logged,) = recent_requests(database_url=settings.database_url, routed_only=True)
    return result, logged


async def test_a_rejected_swift_program_climbs_to_more_candidates_then_deep(
    cores: dict[str, CoreServer], session_data_dir: Path, tmp_path: Path
) -> None:
    (problem,) = load_gsm8k(SHIPPED_GSM8K, limit=1)
    policy = swift_first_policy(tmp_path)
    result, logged = await ask(cores, session_data_dir, tmp_path, problem.question, policy)
    block = result["twincore"]
    assert (logged["service"], logged["core"], logged["verified"]) == ("tutor", "deep", True)
    assert logged["attempts"] == block["attempts"]  # the request log keeps every attempt
    steps = [(a["step"], a["core"], a["verdict"]) for a in block["attempts"]]
    assert steps == [
        ("first", "swift", "fail"),
        ("more", "swift", "fail"),
        ("other", "deep", "pass"),
    ]
    assert "NameError" in block["attempts"][0]["reasons"][0]
    assert block["attempts"][1]["candidates"] == 2
    assert block["escalated"] and block["core"] == "deep" and block["verdict"]["passed"]
    assert result["answer"] == problem.gold == "72" and result["core"] == "deep"
    assert all(a["tokens"] > 0 for a in block["attempts"])


async def test_an_easy_problem_passes_on_the_first_attempt(
    cores: dict[str, CoreServer], session_data_dir: Path, tmp_path: Path
) -> None:
    result, logged = await ask(cores, session_data_dir, tmp_path, EASY)
    block = result["twincore"]
    assert logged["service"] == "tutor" and len(logged["attempts"]) == 1
    assert [(a["step"], a["verdict"]) for a in block["attempts"]] == [("first", "pass")]
    assert not block["escalated"] and block["verdict"]["passed"]
    assert result["answer"] == "7" and block["core"] == result["core"]
    assert block["decision"]["core"] == result["core"]
