"""Word problems and friendly reasons on real SmolLM2 cores through the router: two GSM8K
problems program-aided (real sandbox) and direct, and the solver's reasons rewritten in English
and Chinese (correctness is not expected from SmolLM2; the paths must run and report)."""

from __future__ import annotations

import httpx
import pytest

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.evals.gsm8k import load_gsm8k
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.tutor.component import COMPONENTS
from twincore.services.tutor.evals import SHIPPED_GSM8K, evaluate_runs, summarise
from twincore.services.tutor.service import HINTS, SERVICE
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.steps.explain import check_rewrite, friendly_reasons_detailed

pytestmark = pytest.mark.anyio

STATUSES = {"ok", "no_answer", "failed", "timeout", "memory", "killed"}


@pytest.fixture(scope="module")
def swift(
    tmp_path_factory: pytest.TempPathFactory, smol_cores: dict[str, CoreServer]
) -> TwincoreChatModel:
    """The swift core through a router; these paths store nothing, so no database."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("tutor-word"))
    router = build_router(smol_cores, settings)
    return TwincoreChatModel.for_service(router, SERVICE, HINTS, model="swift")


async def test_two_gsm8k_problems_run_program_aided_and_direct(swift: TwincoreChatModel) -> None:
    problems = load_gsm8k(SHIPPED_GSM8K, limit=2)
    runs = await evaluate_runs(swift, "swift", problems, ("pal", "direct"))
    report = summarise(runs, problems, candidates=1)
    assert set(report["gsm8k_accuracy_by_run"]) == {"swift/pal", "swift/direct"}
    assert 0.0 <= report["gsm8k_accuracy"] <= 1.0
    for run in runs.values():
        assert run["problems"] == 2 and len(run["answers"]) == 2
        for row in run["answers"]:
            assert "error" not in row, row  # the core answered
            assert row["replies"][0].strip()
            assert set(row["statuses"]) <= STATUSES
            assert row["correct"] == (row["answer"] == problems[row["line"] - 1].gold)
    assert [p["gold"] for p in report["gsm8k_per_problem"]] == ["72", "10"]


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_friendly_reasons_one_per_step_and_the_maths_untouched(
    swift: TwincoreChatModel, language: str
) -> None:
    solution = solve("3x + 7 = 22")
    maths = [step.text() for step in solution.steps]
    reasons = await friendly_reasons_detailed(solution.steps, language, swift)  # type: ignore[arg-type]
    assert len(reasons) == len(solution.steps)
    assert [step.text() for step in solution.steps] == maths
    for index, (step, reason) in enumerate(zip(solution.steps, reasons, strict=True)):
        assert reason.text.strip()
        if reason.source == "solver":
            assert reason.text == step.reason and reason.rejected
        else:  # kept rewrites add no number, formula or variable to the step
            previous = solution.steps[index - 1].text() if index else ""
            original = (previous, step.text(), step.reason)
            assert check_rewrite(reason.text, original, language) is None  # type: ignore[arg-type]


async def test_explain_route_rewrites_reasons_and_keeps_the_solvers_maths(
    tmp_path_factory: pytest.TempPathFactory, smol_cores: dict[str, CoreServer]
) -> None:
    folder = tmp_path_factory.mktemp("tutor-explain")
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'twincore.db'}")
    upgrade(settings.database_url)
    app, _ = build_embedded_app(settings, smol_cores, components=list(COMPONENTS))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=300) as http:
        solved = (await http.post("/v1/tutor/solve", json={"problem": "3x + 7 = 22"})).json()
        reply = await http.post(
            "/v1/tutor/explain", json={"problem": "3x + 7 = 22", "language": "zh"}
        )
    assert reply.status_code == 200, reply.text
    explained = reply.json()
    assert explained["language"] == "zh" and explained["answer"] == solved["answer"]
    assert len(explained["steps"]) == len(solved["steps"])
    for mine, theirs in zip(explained["steps"], solved["steps"], strict=True):
        assert {k: v for k, v in mine.items() if k in theirs} == theirs  # maths untouched
        assert mine["friendly_reason"].strip() and mine["reason_source"] in ("core", "solver")
