"""The tutor REST API in the real gateway (in-process) over a migrated database (SQLite, and
PostgreSQL in CI): tree, problems, solve, check, hint, sessions with graded attempts, mastery
and the recommendation; bad input refused with a message and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.engine import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app
from twincore.platform.settings import Settings
from twincore.services.tutor.component import COMPONENTS
from twincore.services.tutor.curriculum.knowledge import default_tree
from twincore.services.tutor.models import (
    TutorAttempt,
    TutorMastery,
    TutorPrerequisite,
    TutorSession,
    TutorSkill,
)
from twincore.services.tutor.store import sync_tree

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(database_url: str, session_data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    upgrade(database_url)
    # One data dir for the session: the router's classifier is prepared there once.
    settings = Settings(data_dir=session_data_dir, database_url=database_url)
    # The symbolic tutor needs no model: the only core is a remote one nobody answers at.
    unreachable = OpenAIBackend("deep", base_url="http://127.0.0.1:9/v1", model="deep")
    app, _ = build_embedded_app(
        settings, {"deep": CoreServer.from_backend(unreachable)}, components=list(COMPONENTS)
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=120) as http:
        yield http


def _count(url: str, model: type) -> int:
    engine = create_db_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def _resync(url: str) -> None:
    engine = create_db_engine(url)
    try:
        sync_tree(session_factory(engine), default_tree())
    finally:
        engine.dispose()


async def test_tree_problems_solve_check_and_hints(
    client: httpx.AsyncClient, database_url: str
) -> None:
    tree = (await client.get("/v1/tutor/tree")).json()
    skills = {s["id"]: s for sj in tree["subjects"] for t in sj["topics"] for s in t["skills"]}
    assert len(skills) == 27 and skills["linear_both_sides"]["requires"] == ["linear_equation"]
    _resync(database_url)  # as a second start does
    assert _count(database_url, TutorSkill) == 27 and _count(database_url, TutorPrerequisite) == 35

    generated = await client.get("/v1/tutor/problems", params={"skill": "quadratic_formula"})
    (problem,) = generated.json()
    assert problem["kind"] == "quadratic" and "quadratic_formula" in problem["skills"]
    posted = await client.post("/v1/tutor/problems", json={"skill": "quadratic_formula"})
    assert posted.json() == [problem]  # seeded: the same problem for the same seed
    typed = await client.post("/v1/tutor/problems", json={"text": "2x + 3 = x - 4"})
    assert typed.json()[0]["skills"] == ["linear_equation", "linear_both_sides"]

    solved = (await client.post("/v1/tutor/solve", json={"problem": "3x + 7 = 22"})).json()
    assert [s["math"] for s in solved["steps"]] == ["3*x + 7 = 22", "3*x = 15", "x = 5"]
    assert [s["latex"] for s in solved["steps"]] == ["3 x + 7 = 22", "3 x = 15", "x = 5"]
    assert solved["answer_latex"] == "x = 5"
    assert all(s["verified"] for s in solved["steps"]) and solved["answer"] == "x = 5"
    radical = (await client.post("/v1/tutor/solve", json={"problem": "sqrt(x) = -1"})).json()
    assert radical["answer"] == "no real solution"
    assert any(s["domain_change"] for s in radical["steps"])

    body = {"problem": "3x + 7 = 22", "steps": ["3x = 29", "x = 29/3"]}
    checked = (await client.post("/v1/tutor/check", json=body)).json()
    assert checked["first_wrong"]["index"] == 0 and checked["first_wrong"]["text"] == "3x = 29"
    assert checked["first_wrong"]["kind"] == "not_equivalent" and not checked["correct"]
    extraneous = {"problem": "sqrt(x) = -1", "steps": ["x = 1"]}
    caught = (await client.post("/v1/tutor/check", json=extraneous)).json()
    assert caught["first_wrong"]["kind"] == "extraneous_root"
    same = {"problem": "expand (x+1)^2", "steps": ["x^2 + 2x + 1"]}
    assert (await client.post("/v1/tutor/check", json=same)).json()["correct"] is True

    hints = []
    for level in (1, 2, 3):
        answer = await client.post("/v1/tutor/hint", json={**body, "level": level})
        hints.append(answer.json()["hint"])
    assert "balance" in hints[0] and "both sides" in hints[1]
    assert hints[2].startswith("Next step: 3*x = 15")
    assert "x = 5" not in hints[0] + hints[1]  # guide first, never the answer


async def test_sessions_attempts_mastery_and_recommendation(
    client: httpx.AsyncClient, database_url: str
) -> None:
    fresh = (await client.get("/v1/tutor/mastery/ana")).json()
    assert fresh["recommendation"]["skill"]["id"] == "fraction_add_sub"
    states = {s["id"]: s["state"] for s in fresh["skills"]}
    assert states["fraction_add_sub"] == "open" and states["linear_equation"] == "locked"

    session = (await client.post("/v1/tutor/sessions", json={"student": "ana"})).json()
    sid = session["id"]
    right = {"problem": "1/2 + 1/3", "steps": ["3/6 + 2/6", "5/6"]}
    attempt = (await client.post(f"/v1/tutor/sessions/{sid}/attempts", json=right)).json()
    assert attempt["correct"] and attempt["skills"] == ["fraction_add_sub"]
    assert attempt["mastery"]["fraction_add_sub"] == {"before": 0.2, "after": 0.6}
    wrong = {"problem": "1/2 + 1/3", "steps": ["2/5"], "hints_used": 1}
    missed = (await client.post(f"/v1/tutor/sessions/{sid}/attempts", json=wrong)).json()
    assert not missed["correct"] and missed["first_wrong"]["index"] == 0
    # 0.6 wrong: 0.06 / (0.06 + 0.4*0.8) = 0.157895; + 0.842105*0.15 = 0.284211
    assert missed["mastery"]["fraction_add_sub"]["after"] == pytest.approx(0.284211, abs=1e-6)

    stored = (await client.get(f"/v1/tutor/sessions/{sid}")).json()
    assert [a["correct"] for a in stored["attempts"]] == [True, False]
    listed = (await client.get("/v1/tutor/sessions", params={"student": "ana"})).json()
    assert [s["id"] for s in listed] == [sid]

    # 0.284 -> 0.695 -> 0.925 -> 0.982 (>= 0.95): three more correct answers master it.
    practised = 0
    while (item := (await client.get("/v1/tutor/mastery/ana/next")).json())["skill"][
        "id"
    ] == "fraction_add_sub" and practised < 5:
        problem = item["problem"]["text"]
        solved = (await client.post("/v1/tutor/solve", json={"problem": problem})).json()
        steps = [s["math"] for s in solved["steps"][1:]]
        done = await client.post(
            f"/v1/tutor/sessions/{sid}/attempts", json={"problem": problem, "steps": steps}
        )
        assert done.json()["correct"], (problem, steps)
        practised += 1
    assert practised == 3
    mastery = (await client.get("/v1/tutor/mastery/ana")).json()
    row = next(s for s in mastery["skills"] if s["id"] == "fraction_add_sub")
    assert row["state"] == "mastered" and row["attempts"] == 5 and row["correct"] == 4
    assert mastery["recommendation"]["skill"]["id"] == "fraction_mul_div"
    assert _count(database_url, TutorAttempt) == 5 and _count(database_url, TutorMastery) == 1


async def test_seeing_the_solution_first_counts_as_failed_and_practice_opens_a_skill(
    client: httpx.AsyncClient,
) -> None:
    sid = (await client.post("/v1/tutor/sessions", json={"student": "cho"})).json()["id"]
    copied = {"problem": "3x + 7 = 22", "steps": ["3x = 15", "x = 5"], "solution_seen": True}
    attempt = (await client.post(f"/v1/tutor/sessions/{sid}/attempts", json=copied)).json()
    # Right steps, but after the solution: a failed observation, 0.20 -> 0.175758 (not 0.60).
    assert not attempt["correct"] and attempt["complete"] and attempt["first_wrong"] is None
    assert attempt["solved_after_seeing"]
    assert attempt["mastery"]["linear_equation"]["after"] == pytest.approx(0.175758, abs=1e-6)
    alone = {"problem": "2x - 3 = 7", "steps": ["2x = 10", "x = 5"]}
    solved = (await client.post(f"/v1/tutor/sessions/{sid}/attempts", json=alone)).json()
    assert solved["correct"] and not solved["solved_after_seeing"]
    stored = (await client.get(f"/v1/tutor/sessions/{sid}")).json()["attempts"]
    assert [a["solved_after_seeing"] for a in stored] == [True, False]

    mastery = (await client.get("/v1/tutor/mastery/cho")).json()
    rows = {s["id"]: s for s in mastery["skills"]}
    # Practised, so open although its fraction prerequisites are not there yet.
    assert rows["linear_equation"]["state"] == "open"
    assert rows["linear_equation"]["attempts"] == 2 and rows["linear_equation"]["correct"] == 1
    assert rows["linear_equation"]["updated_at"] and rows["linear_both_sides"]["updated_at"] is None
    assert rows["linear_both_sides"]["state"] == "locked"
    tree = (await client.get("/v1/tutor/tree", params={"student": "cho"})).json()
    states = {
        s["id"]: s["state"] for sj in tree["subjects"] for t in sj["topics"] for s in t["skills"]
    }
    assert states["linear_equation"] == "open" and states["fraction_mul_div"] == "open"


async def test_bad_input_is_refused_with_a_message_and_nothing_stored(
    client: httpx.AsyncClient, database_url: str
) -> None:
    unreadable = await client.post("/v1/tutor/solve", json={"problem": "3x + = 22"})
    assert unreadable.status_code == 422 and "at position 6" in unreadable.text
    assert unreadable.json()["error"]["type"] == "invalid_request_error"
    word = "Tom has 3 apples and buys 4 more. How many apples does he have now?"
    prose = await client.post("/v1/tutor/solve", json={"problem": word})
    assert prose.status_code == 422 and "looks like a word problem" in prose.text
    for leak in ("Traceback", 'File "', "<string>", ".py"):
        assert leak not in prose.text and leak not in unreadable.text
    step = await client.post("/v1/tutor/check", json={"problem": "3x = 6", "steps": ["x = (2"]})
    assert step.status_code == 422 and "step 1" in step.text and "position 5" in step.text
    two = await client.post("/v1/tutor/solve", json={"problem": "x + y = 2"})
    assert two.status_code == 422 and "exactly one variable" in two.text
    unknown = await client.get("/v1/tutor/problems", params={"skill": "trig"})
    assert unknown.status_code == 404 and "unknown skill 'trig'" in unknown.text
    both = await client.post("/v1/tutor/problems", json={"skill": "power_rule", "text": "x=1"})
    assert both.status_code == 422
    level = await client.post("/v1/tutor/hint", json={"problem": "x = 1", "level": 4})
    assert level.status_code == 422
    assert (await client.get("/v1/tutor/mastery/has space")).status_code == 422
    bad_student = await client.post("/v1/tutor/sessions", json={"student": "a b"})
    assert bad_student.status_code == 422
    bad_skill = await client.post("/v1/tutor/sessions", json={"student": "bo", "skill": "trig"})
    assert bad_skill.status_code == 404
    assert _count(database_url, TutorSession) == 0

    sid = (await client.post("/v1/tutor/sessions", json={"student": "bo"})).json()["id"]
    refused = [
        {"problem": "3x + 7 = 22", "steps": []},
        {"problem": "3x + 7 = 22", "steps": ["3x = @"]},
        {"problem": "2x + y = 5, x - y = 1", "steps": ["x = 2"]},  # systems: not step-checked
        {"problem": "3x + 7 = 22", "steps": ["x = 5"], "hints_used": -1},
    ]
    for body in refused:
        answer = await client.post(f"/v1/tutor/sessions/{sid}/attempts", json=body)
        assert answer.status_code == 422, body
    missing = await client.post(
        "/v1/tutor/sessions/999/attempts", json={"problem": "x = 1", "steps": ["x = 1"]}
    )
    assert missing.status_code == 404 and "no tutor session 999" in missing.text
    assert missing.json()["error"]["type"] == "not_found_error"
    assert (await client.get("/v1/tutor/sessions/999")).status_code == 404
    assert _count(database_url, TutorAttempt) == 0 and _count(database_url, TutorMastery) == 0


async def test_core_routes_validate_then_say_when_the_core_is_unreachable(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.post("/v1/tutor/word", json={"question": "How many?", "candidates": 0})
    assert bad.status_code == 422
    bad = await client.post("/v1/tutor/explain", json={"problem": "x + 1 = 2", "language": "fr"})
    assert bad.status_code == 422
    down = await client.post("/v1/tutor/explain", json={"problem": "3x + 7 = 22"})
    assert down.status_code >= 500 and down.json()["error"]["message"], down.text
    down = await client.post(
        "/v1/tutor/word", json={"question": "Tom has 3 apples and buys 4. How many?"}
    )
    assert down.status_code >= 500 and down.json()["error"]["message"], down.text
