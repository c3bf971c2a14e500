"""How the tutor screen shows things: the knowledge tree, worked steps with verified marks, the
check of a student's steps, word problems with the checker's attempts, and the mastery table
(plain functions of the service's answers)."""

from __future__ import annotations

from typing import Any

from twincore.platform.router.escalation import summarize_block

STATE_MARKS = {"locked": "🔒 locked", "open": "🔓 open", "mastered": "⭐ mastered"}
VERDICT_WORDS = {
    "not_equivalent": "not equivalent to the step before",
    "lost_solution": "lost a solution",
    "extraneous_root": "gained an extraneous root",
    "arithmetic_slip": "an arithmetic slip",
    "unreadable": "unreadable",
}
MASTERY_HEADERS = ["Skill", "Topic", "P(known)", "Attempts", "Correct", "State"]


def tree_markdown(tree: dict[str, Any]) -> str:
    """Subjects -> topics -> skills as a nested list, with each skill's state when known."""
    lines: list[str] = []
    for subject in tree["subjects"]:
        lines.append(f"- **{subject['name']}**")
        for topic in subject["topics"]:
            lines.append(f"    - {topic['name']}")
            for skill in topic["skills"]:
                state = ""
                if "state" in skill:
                    state = f" — {STATE_MARKS[skill['state']]}, P(known) {skill['p_known']:.2f}"
                needs = f" (needs {', '.join(skill['requires'])})" if skill["requires"] else ""
                lines.append(f"        - {skill['name']} `{skill['id']}`{state}{needs}")
    return "\n".join(lines)


def skill_choices(tree: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, id) pairs for the skill picker, in tree order."""
    return [
        (f"{topic['name']}: {skill['name']}", skill["id"])
        for subject in tree["subjects"]
        for topic in subject["topics"]
        for skill in topic["skills"]
    ]


def solution_markdown(solved: dict[str, Any]) -> str:
    """Numbered steps, each with its verified mark and reason; domain changes flagged."""
    lines = [f"**{solved['kind']}** — skills: {', '.join(solved['skills']) or 'none'}", ""]
    for number, step in enumerate(solved["steps"]):
        mark = "✓ verified" if step["verified"] else "✗ unverified"
        flag = " ⚠ domain change: roots checked later" if step["domain_change"] else ""
        lines.append(f"{number}. `{step['math']}` — {step['reason']} ({mark}){flag}")
    lines += ["", f"**Answer:** `{solved['answer']}`"]
    return "\n".join(lines)


def check_markdown(checked: dict[str, Any]) -> str:
    """Each checked step with ✓ or the first wrong one flagged with why."""
    lines = []
    for step in checked["steps"]:
        number = step["index"] + 1
        if step["kind"] == "ok":
            lines.append(f"- ✓ step {number}: `{step['text']}` — {step['reason']}")
        else:
            what = VERDICT_WORDS.get(step["kind"], step["kind"])
            lines.append(
                f"- ✗ **Step {number} is wrong** ({what}): `{step['text']}` — {step['reason']}"
            )
    if checked["correct"]:
        lines.append("\n**Solved** — every step checks out.")
    elif checked["first_wrong"] is None:
        lines.append("\nSo far so good — not finished yet: what is the next step?")
    return "\n".join(lines)


def mastery_rows(mastery: dict[str, Any]) -> list[list[Any]]:
    return [
        [s["name"], s["topic"], s["p_known"], s["attempts"], s["correct"], s["state"]]
        for s in mastery["skills"]
    ]


def recommendation_line(mastery: dict[str, Any]) -> str:
    chosen = mastery["recommendation"]
    if chosen["skill"] is None:
        return str(chosen["reason"])
    return f"**Next:** {chosen['reason']}. Try `{chosen['problem']['text']}`."


def attempt_line(attempt: dict[str, Any]) -> str:
    changes = ", ".join(
        f"{skill} {change['before']:.2f} → {change['after']:.2f}"
        for skill, change in attempt["mastery"].items()
    )
    verdict = "correct" if attempt["correct"] else "not correct yet"
    return f"Attempt {attempt['id']} recorded ({verdict}); P(known): {changes}"


def attempts_line(twincore: dict[str, Any]) -> str:
    """`swift fail -> swift more fail -> deep other pass`, and the reasons when it failed."""
    line = summarize_block(twincore)
    verdict = twincore["verdict"]
    if not verdict["passed"]:
        line += " — not verified: " + "; ".join(verdict["reasons"])
    return line


def word_markdown(solved: dict[str, Any]) -> str:
    """The voted answer, how the program reached it, and the checker's attempts in one line."""
    answer = solved["answer"] if solved["answer"] is not None else "no answer"
    lines = [f"**Answer:** {answer}", "", solved["explanation"]]
    if solved.get("twincore"):
        lines += ["", f"*Checked:* {attempts_line(solved['twincore'])}"]
    return "\n".join(lines)
