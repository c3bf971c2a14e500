"""The tutor screen's formatting over the service's dict shapes: worked steps as KaTeX maths,
lock states in words with what a locked skill needs, a word problem's brief that hides the
answer, attempts as they count, and the core that answered named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twincore.apps import tutor_views as views
from twincore.services.tutor.service import step_dict
from twincore.services.tutor.solvers.dispatch import solve


def _solved(problem: str) -> dict[str, Any]:
    solution = solve(problem)
    return {
        "problem": problem,
        "kind": solution.kind,
        "skills": ["linear_equation"],
        "skill_names": ["Solving a linear equation"],
        "steps": [step_dict(step) for step in solution.steps],
        "answer": solution.answer,
        "answer_latex": solution.steps[-1].latex(),
    }


def _word(answer: str | None, cores: list[str]) -> dict[str, Any]:
    attempts: list[dict[str, Any]] = [
        {"step": step, "core": core, "verdict": "pass" if i == len(cores) - 1 else "fail",
         "reasons": [], "candidates": 1, "tokens": 10, "ms": 5.0}
        for i, (step, core) in enumerate(zip(("first", "other"), cores, strict=False))
    ]  # fmt: skip
    return {
        "question": "A book costs 4 dollars. How much do 3 books cost?",
        "answer": answer,
        "explanation": "The program computed total cost = 12; so the answer is 12.",
        "core": cores[-1],
        "twincore": {
            "core": cores[-1],
            "verdict": {"passed": answer is not None, "reasons": ["no number"], "score": 0.0},
            "attempts": attempts,
        },
    }


def test_worked_steps_are_inline_katex_maths_not_code() -> None:
    text = views.solution_markdown(_solved("3x + 7 = 22"))
    assert "1. \\(3 x + 7 = 22\\) — the problem (✓ verified)" in text
    assert "2. \\(3 x = 15\\)" in text and "`" not in text
    assert text.endswith("**Answer:** \\(x = 5\\)")
    assert "skills: Solving a linear equation" in text and "a linear equation" in text


def test_explained_reasons_lead_and_the_core_is_named() -> None:
    solved = _solved("3x + 7 = 22")
    solved["steps"][1]["friendly_reason"] = "Take 7 away from both sides."
    solved["twincore"] = _word("1", ["swift"])["twincore"]
    text = views.solution_markdown(solved)
    assert "\\(3 x = 15\\) — Take 7 away from both sides." in text
    assert "*Reasons in plain words by* the **swift** core" in text


def test_the_tree_says_lock_states_in_words_and_what_a_locked_skill_needs() -> None:
    tree = {
        "subjects": [
            {
                "name": "Algebra",
                "topics": [
                    {
                        "name": "Linear equations",
                        "skills": [
                            {"id": "a", "name": "Adding", "requires": [], "state": "open",
                             "p_known": 0.2},
                            {"id": "b", "name": "Solving", "requires": ["a"],
                             "state": "locked", "p_known": 0.2},
                            {"id": "c", "name": "Both sides", "requires": ["b"],
                             "state": "mastered", "p_known": 0.97},
                        ],
                    }
                ],
            }
        ]
    }  # fmt: skip
    text = views.tree_markdown(tree)
    assert "    - Adding — **open**, 0.20\n" in text
    assert "    - Solving — locked, 0.20 *(needs Adding)*" in text
    assert "    - Both sides — **mastered ★**, 0.97\n" in text
    assert views.skill_choices(tree) == [
        ("Adding (open)", "a"),
        ("Solving (locked)", "b"),
        ("Both sides (mastered)", "c"),
    ]


def test_the_problem_brief_names_the_skill_and_never_the_answer() -> None:
    mastery = {
        "skills": [
            {"id": "linear_equation", "name": "Solving a linear equation", "state": "open",
             "p_known": 0.6},
        ]
    }  # fmt: skip
    brief = views.problem_brief({"kind": "linear", "skills": ["linear_equation"]}, mastery)
    assert brief.startswith("**Your turn.** This is a linear equation; it practises")
    assert "*Solving a linear equation* (open, P(known) 0.60)" in brief
    assert "x = 5" not in brief


def test_a_word_problem_brief_hides_the_answer_and_names_the_core() -> None:
    brief = views.word_brief(_word("12", ["swift"]))
    assert "The **swift** core has worked it out" in brief and "12" not in brief
    assert "found no checked answer" in views.word_brief(_word(None, ["swift"]))
    escalated = views.word_markdown(_word("12", ["swift", "deep"]))
    assert escalated.startswith("**Answer:** 12")
    assert "*Answered by* the **deep** core (after swift)" in escalated


def test_the_students_word_answer_is_compared_as_a_number() -> None:
    solved = _word("12", ["swift"])
    assert views.word_attempt_line(["3 * 4", "$12.00"], solved).startswith(
        "Your answer 12 matches the core's checked answer 12"
    )
    assert "13 differs from the core's checked answer 12" in views.word_attempt_line(["13"], solved)
    assert views.word_attempt_line(["twelve"], solved).startswith("Write your answer as a number")


def test_an_attempt_says_how_it_counts_and_when() -> None:
    now = datetime.now(UTC).isoformat()
    names = {"linear_equation": "Solving a linear equation"}
    change = {"linear_equation": {"before": 0.2, "after": 0.175758}}
    attempt = {"id": 3, "created_at": now, "correct": False, "mastery": change}
    seen = views.attempt_line({**attempt, "solved_after_seeing": True}, names)
    assert seen.startswith("**Attempt 3** recorded today ")
    assert "counted as not solved on your own" in seen
    assert seen.endswith("P(known): Solving a linear equation 0.20 → 0.18")
    wrong = views.attempt_line({**attempt, "solved_after_seeing": False}, names)
    assert "(not correct yet)" in wrong
    assert "(solved ✓)" in views.attempt_line({**attempt, "correct": True}, names)


def test_mastery_rows_show_states_and_friendly_times() -> None:
    row = {"name": "Adding", "topic": "fractions", "topic_name": "Fractions", "state": "open",
           "p_known": 0.6, "attempts": 1, "correct": 1,
           "updated_at": "2025-12-05T19:32:10.123456"}  # fmt: skip
    never = {**row, "updated_at": None}
    rows = views.mastery_rows({"skills": [row, never]})
    assert rows[0] == ["Adding", "Fractions", "open", "0.60", 1, 1, "5 Dec 2025 19:32"]
    assert rows[1][-1] == "—"
