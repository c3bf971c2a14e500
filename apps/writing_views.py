"""How the writing screen shows things: the style gallery, progress lines, the checker report,
the predicted style and the satisfaction table (plain functions over the service's dicts)."""

from __future__ import annotations

from typing import Any

from twincore.platform.router.escalation import summarize_block

REPORT_COLUMNS = ["constraint", "kind", "score", "verdict", "reason"]
RATING_COLUMNS = ["style", "name", "ratings", "average"]


def style_label(style: dict[str, Any]) -> str:
    """`Haiku · 俳句 (en)`: what the picker shows for a style."""
    return f"{style['name']['en']} · {style['name']['zh']} ({style['language']})"


def style_card(style: dict[str, Any]) -> str:
    """A gallery card in Markdown: description, constraints and every exemplar."""
    constraints = "\n".join(f"- {c['description']} (`{c['kind']}`)" for c in style["constraints"])
    exemplars = "\n\n".join(
        f"**Exemplar {i}**\n\n```text\n{text}\n```" for i, text in enumerate(style["exemplars"], 1)
    )
    return f"{style['description']}\n\n**Constraints**\n\n{constraints}\n\n{exemplars}"


def progress_line(event: dict[str, Any], tokens: int) -> str:
    """One line of the progress log for a `token` (so far) or `draft` (checked) event."""
    what = f"candidate {event['candidate'] + 1}" + (" (revision)" if event["revised"] else "")
    if event.get("step") == "other":
        what += " (other core)"
    if event["event"] == "token":
        return f"{what}: writing, {tokens} pieces so far"
    report = event["report"]
    passed = sum(c["passed"] for c in report["constraints"])
    return (
        f"{what}: checked, {passed}/{len(report['constraints'])} constraints, "
        f"score {report['score']:.2f}"
    )


def report_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The checker report as table rows: each constraint with its 0/1 score and its reasons."""
    return [
        [
            c["description"],
            c["kind"],
            1.0 if c["passed"] else 0.0,
            "pass" if c["passed"] else "fail",
            "; ".join(c["reasons"]) or "ok",
        ]
        for c in report["constraints"]
    ]


def score_line(report: dict[str, Any]) -> str:
    passed = sum(c["passed"] for c in report["constraints"])
    verdict = "all constraints met" if report["passed"] else "some constraints failed"
    return (
        f"{passed}/{len(report['constraints'])} constraints, score {report['score']:.2f}: {verdict}"
    )


def attempt_line(event: dict[str, Any]) -> str:
    """The progress line of a finished attempt (a rung's best candidate, checked)."""
    report = event["report"]
    passed = sum(c["passed"] for c in report["constraints"])
    verdict = "pass" if report["passed"] else "fail"
    return (
        f"attempt {event['attempt'] + 1} ({event['step']}, {event['core'] or '?'}): {verdict}, "
        f"{passed}/{len(report['constraints'])} constraints"
    )


def attempts_summary(twincore: dict[str, Any] | None) -> str:
    """The escalation in one line (`swift fail -> swift repair fail -> deep pass`)."""
    return summarize_block(twincore)


def verdict_text(draft: dict[str, Any]) -> str:
    """Met or unmet (never an unmet text as a finished piece), then the attempts line."""
    report = draft["report"]
    failed = sum(not c["passed"] for c in report["constraints"])
    if draft.get("status", "met" if report["passed"] else "unmet") == "met":
        head = "Met: the text meets every constraint."
    else:
        head = (
            f"Unmet: the best text still fails {failed} constraint(s), see the report; "
            "use Try again for new candidates."
        )
    summary = attempts_summary(draft.get("twincore"))
    return f"{head}\nAttempts: {summary}" if summary else head


def prediction_line(draft: dict[str, Any], names: dict[str, str]) -> str:
    """The classifier's verdict beside the style asked for, and similarity for rewrites."""
    predicted, asked = draft["predicted_style"], draft["style"]
    agrees = "matches the style asked for" if predicted == asked else f"asked for {names[asked]}"
    line = f"{names.get(predicted, predicted)} ({predicted}): {agrees}"
    if draft["similarity"] is not None:
        line += f"; content similarity to the source {draft['similarity']:.2f}"
    return line


def average_line(style_id: str, ratings: dict[str, dict[str, Any]], names: dict[str, str]) -> str:
    """The average satisfaction of one style, as the rating panel shows it."""
    rated = ratings.get(style_id)
    if not rated:
        return f"{names[style_id]}: no ratings yet"
    plural = "rating" if rated["count"] == 1 else "ratings"
    return f"{names[style_id]}: {rated['average']:.2f} / 5 from {rated['count']} {plural}"


def rating_rows(styles: list[dict[str, Any]]) -> list[list[Any]]:
    """Every style with its number of ratings and average satisfaction (blank when unrated)."""
    return [
        [
            s["id"],
            s["name"]["en"],
            s["ratings"]["count"],
            "" if s["ratings"]["average"] is None else f"{s['ratings']['average']:.2f}",
        ]
        for s in styles
    ]
