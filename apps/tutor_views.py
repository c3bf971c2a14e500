"""How the tutor screen shows things: the knowledge tree and skill picker with lock states, the
brief for a problem (the solution hidden), worked steps as rendered maths, the check of a
student's steps, word problems with the core that answered, attempts and the mastery table
(plain functions of the service's answers)."""

from __future__ import annotations

from typing import Any

from twincore.apps.calls import friendly_time
from twincore.platform.evals.gsm8k import normalise_number
from twincore.platform.router.escalation import summarize_block

# Inline maths between `\(` and `\)`, never `$`: word problems are full of prices.
LATEX_DELIMITERS: list[dict[str, str | bool]] = [
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$$", "right": "$$", "display": True},
]
# Words, not emoji: a lock or star emoji is a blank box where the font lacks it.
STATE_WORDS = {"locked": "locked", "open": "**open**", "mastered": "**mastered ★**"}
VERDICT_WORDS = {
    "not_equivalent": "not equivalent to the step before",
    "lost_solution": "lost a solution",
    "extraneous_root": "gained an extraneous root",
    "arithmetic_slip": "an arithmetic slip",
    "unreadable": "unreadable",
}
MASTERY_HEADERS = ["Skill", "Topic", "State", "P(known)", "Attempts", "Correct", "Last practised"]
KIND_WORDS = {
    "linear": "a linear equation",
    "inequality": "an inequality",
    "quadratic": "a quadratic equation",
    "system": "a system of equations",
    "polynomial": "a polynomial",
    "fraction": "a fraction sum",
    "derivative": "a derivative",
    "integral": "an integral",
    "limit": "a limit",
    "radical": "a radical equation",
}


def maths(latex: str) -> str:
    """Inline rendered maths (KaTeX, see LATEX_DELIMITERS)."""
    return f"\\({latex}\\)"


def _skills(tree: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        skill
        for subject in tree["subjects"]
        for topic in subject["topics"]
        for skill in topic["skills"]
    ]


def skill_names(tree: dict[str, Any]) -> dict[str, str]:
    return {skill["id"]: skill["name"] for skill in _skills(tree)}


def tree_markdown(tree: dict[str, Any]) -> str:
    """Subjects -> topics -> skills, each skill with its state, P(known) and what it needs."""
    names = skill_names(tree)
    lines = [
        "*Open*: recommended now or already practised; *locked*: its prerequisites come first "
        "(you may still type and practise it). The number is P(known).",
        "",
    ]
    for subject in tree["subjects"]:
        lines.append(f"**{subject['name']}**")
        for topic in subject["topics"]:
            lines.append(f"- {topic['name']}")
            for skill in topic["skills"]:
                state = ""
                if "state" in skill:
                    state = f" — {STATE_WORDS[skill['state']]}, {skill['p_known']:.2f}"
                needs = ""
                if skill.get("state") == "locked":
                    needs = f" *(needs {', '.join(names[r] for r in skill['requires'])})*"
                lines.append(f"    - {skill['name']}{state}{needs}")
        lines.append("")
    return "\n".join(lines)


def skill_choices(tree: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, id) pairs for the skill picker, in tree order, each with its state mark."""
    return [
        (f"{skill['name']} ({skill['state']})" if "state" in skill else skill["name"], skill["id"])
        for skill in _skills(tree)
    ]


def problem_brief(classified: dict[str, Any], mastery: dict[str, Any]) -> str:
    """What the typed problem practises, and the student's turn (the solution stays hidden)."""
    rows = {row["id"]: row for row in mastery["skills"]}
    practised = [
        f"*{rows[s]['name']}* ({rows[s]['state']}, P(known) {rows[s]['p_known']:.2f})"
        for s in classified["skills"]
        if s in rows
    ]
    what = KIND_WORDS.get(classified["kind"], classified["kind"])
    skills = f"; it practises {', '.join(practised)}" if practised else ""
    return (
        f"**Your turn.** This is {what}{skills}.\n\n"
        "Write your steps below, one per line, and press **Check steps** as you go. The worked "
        "solution stays hidden until you submit an attempt; **Show solution** reveals it now, "
        "and then your next attempt on this problem counts as not solved on your own."
    )


def word_brief(solved: dict[str, Any]) -> str:
    """A word problem was answered by a core; the answer stays hidden until asked for."""
    core = answered_by(solved)
    if solved["answer"] is None:
        return (
            f"**Word problem.** {core} found no checked answer this time. "
            "**Show solution** shows what its programs did."
        )
    return (
        f"**Word problem — your turn.** {core} has worked it out with a program; its answer "
        "stays hidden. Work it out yourself, write your answer (a number) as the last line "
        "of *Your steps* and press **Submit attempt**, or press **Show solution**."
    )


def answered_by(result: dict[str, Any]) -> str:
    """`The swift core` (or `deep after swift` when it escalated)."""
    block = result.get("twincore") or {}
    core = block.get("core") or result.get("core") or "a core"
    cores = list(dict.fromkeys(a["core"] for a in block.get("attempts", [])))
    if len(cores) > 1:
        return f"The **{core}** core (after {', '.join(c for c in cores if c != core)})"
    return f"The **{core}** core"


def solution_markdown(solved: dict[str, Any]) -> str:
    """Numbered steps in rendered maths, each with its reason and verified mark; with friendly
    reasons (`explain`) the core's sentence leads and the core is named."""
    skills = ", ".join(solved.get("skill_names") or solved["skills"]) or "none"
    what = KIND_WORDS.get(solved["kind"], solved["kind"])
    lines = [f"**Worked solution** — {what}; skills: {skills}", ""]
    for number, step in enumerate(solved["steps"], start=1):
        mark = "✓ verified" if step["verified"] else "✗ unverified"
        flag = " ⚠ domain change: roots checked later" if step["domain_change"] else ""
        reason = step.get("friendly_reason") or step["reason"]
        lines.append(f"{number}. {maths(step['latex'])} — {reason} ({mark}){flag}")
    lines += ["", f"**Answer:** {maths(solved['answer_latex'])}"]
    if "twincore" in solved:
        by = answered_by(solved).lower()
        lines += ["", f"*Reasons in plain words by* {by}{_checked(solved)}"]
    return "\n".join(lines)


def _checked(result: dict[str, Any]) -> str:
    line = summarize_block(result.get("twincore"))
    return f" · checked: {line}" if line else ""


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
        lines.append("\n**Solved** — every step checks out. Submit it as an attempt.")
    elif checked["first_wrong"] is None:
        lines.append("\nSo far so good — not finished yet: what is the next step?")
    return "\n".join(lines)


def mastery_rows(mastery: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            s["name"],
            s.get("topic_name") or s["topic"],
            s["state"],
            f"{s['p_known']:.2f}",
            s["attempts"],
            s["correct"],
            friendly_time(s.get("updated_at")),
        ]
        for s in mastery["skills"]
    ]


def recommendation_line(mastery: dict[str, Any]) -> str:
    chosen = mastery["recommendation"]
    if chosen["skill"] is None:
        return str(chosen["reason"])
    return f"**Next:** {chosen['reason']}. Try `{chosen['problem']['text']}`."


def attempt_line(attempt: dict[str, Any], names: dict[str, str]) -> str:
    """The recorded attempt: when, the verdict as it counts, and each skill's P(known)."""
    changes = ", ".join(
        f"{names.get(skill, skill)} {change['before']:.2f} → {change['after']:.2f}"
        for skill, change in attempt["mastery"].items()
    )
    if attempt["correct"]:
        verdict = "solved ✓"
    elif attempt.get("solved_after_seeing"):
        verdict = "right steps, but after seeing the solution: counted as not solved on your own"
    else:
        verdict = "not correct yet"
    when = friendly_time(attempt["created_at"])
    return f"**Attempt {attempt['id']}** recorded {when} ({verdict}). P(known): {changes}"


def word_attempt_line(steps: list[str], solved: dict[str, Any]) -> str:
    """The student's last line compared with the checked answer (word problems have no skill in
    the tree, so nothing is recorded)."""
    mine = normalise_number(steps[-1]) if steps else None
    if mine is None:
        return "Write your answer as a number on the last line of *Your steps*."
    theirs = solved["answer"]
    if theirs is None:
        return f"Your answer: {mine}. The core found no checked answer to compare it with."
    verdict = "matches" if mine == theirs else "differs from"
    return (
        f"Your answer {mine} {verdict} the core's checked answer {theirs} "
        "(word problems are not in the knowledge tree, so mastery is unchanged)."
    )


def word_markdown(solved: dict[str, Any]) -> str:
    """The voted answer, how the program reached it, and who answered with the checker's
    attempts in one line."""
    answer = solved["answer"] if solved["answer"] is not None else "no answer"
    verdict = (solved.get("twincore") or {}).get("verdict") or {}
    lines = [f"**Answer:** {answer}", "", solved["explanation"], ""]
    lines.append(f"*Answered by* {answered_by(solved).lower()}{_checked(solved)}")
    if verdict and not verdict.get("passed"):
        lines += ["", "⚠ Not verified: " + "; ".join(verdict.get("reasons", []))]
    return "\n".join(lines)
