"""How the writing screen shows things: style names, progress lines, the verdict with what is
unmet and why, the checker report, the predicted style and the satisfaction table (plain
functions over the service's dicts)."""

from __future__ import annotations

from typing import Any

from twincore.apps.calls import friendly_time
from twincore.platform.router.escalation import summarize_block

REPORT_COLUMNS = ["rule", "result", "why"]
REPORT_WIDTHS: list[str | int] = ["28%", "12%", "60%"]
RATING_COLUMNS = ["style", "ratings", "average"]
LANGUAGES = {"en": "English", "zh": "Chinese"}


def style_label(style: dict[str, Any]) -> str:
    """The style's name in its own language, as the service gives it (`Limerick`,
    `五言绝句 (Five-character quatrain)`)."""
    return str(style["display_name"])


def style_card(style: dict[str, Any]) -> str:
    """A gallery card in Markdown: language, description, rules and every exemplar."""
    rules = "\n".join(f"- {c['description']}" for c in style["constraints"])
    exemplars = "\n\n".join(
        f"**Exemplar {i}**\n\n```text\n{text}\n```" for i, text in enumerate(style["exemplars"], 1)
    )
    language = LANGUAGES.get(style["language"], style["language"])
    return f"*{language}.* {style['description']}\n\n**Rules**\n\n{rules}\n\n{exemplars}"


def _who(event: dict[str, Any]) -> str:
    what = f"candidate {event['candidate'] + 1}" + (" (revision)" if event["revised"] else "")
    core = event.get("core")
    return f"{what} on the {core} core" if core else f"{what} (the router picks the core)"


def progress_line(event: dict[str, Any], tokens: int) -> str:
    """One line of the progress log for a `token` (so far) or `draft` (checked) event."""
    if event["event"] == "token":
        return f"{_who(event)}: writing, {tokens} pieces so far"
    report = event["report"]
    passed = sum(c["passed"] for c in report["constraints"])
    return f"{_who(event)}: checked, {passed}/{len(report['constraints'])} rules met"


def attempt_line(event: dict[str, Any]) -> str:
    """The progress line of a finished attempt (a rung's best candidate, checked)."""
    report = event["report"]
    passed = sum(c["passed"] for c in report["constraints"])
    verdict = "met" if report["passed"] else "unmet"
    core = event["core"] or "?"
    return (
        f"attempt {event['attempt'] + 1} ({event['step']}, {core} core): {verdict}, "
        f"{passed}/{len(report['constraints'])} rules"
    )


def report_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The checker report as table rows: each rule, met or unmet, and the checker's reasons."""
    return [
        [
            c["description"],
            "met" if c["passed"] else "unmet",
            "; ".join(c["reasons"]) or "—",
        ]
        for c in report["constraints"]
    ]


def status_of(draft: dict[str, Any]) -> str:
    """`met` or `unmet` (drafts stored before the cascade carry no status: their report says)."""
    return str(draft.get("status") or ("met" if draft["report"]["passed"] else "unmet"))


def verdict_markdown(draft: dict[str, Any], names: dict[str, str]) -> str:
    """The verdict in plain words: met, or unmet with each unmet rule and why; then the
    attempts and where the draft was saved. An unmet text is never called finished."""
    constraints = draft["report"]["constraints"]
    failed = [c for c in constraints if not c["passed"]]
    style = names.get(draft["style"], draft["style"])
    if status_of(draft) == "met":
        head = f"The text meets all {len(constraints)} rules of the {style}."
        lines = [f'### <span class="writing-met">Met</span>\n{head}']
    else:
        head = (
            f"Not a finished {style}: {len(failed)} of {len(constraints)} rules unmet. Below "
            "is the best attempt; use **Try again** for new candidates."
        )
        lines = [
            f'### <span class="writing-unmet">Unmet</span>\n{head}',
            "",
            *(f"- **{c['description']}**: {'; '.join(c['reasons']) or 'failed'}" for c in failed),
        ]
    summary = summarize_block(draft.get("twincore"))
    footer = f"Attempts: {summary}. " if summary else ""
    saved = f"Saved as draft {draft['id']}, {friendly_time(draft.get('created_at'))}."
    return "\n".join([*lines, "", footer + saved])


def text_label(draft: dict[str, Any], names: dict[str, str]) -> str:
    """The text box's label: a met text as the style's text, an unmet one as an attempt."""
    core = f", written by the {draft['core']} core" if draft.get("core") else ""
    if status_of(draft) == "met":
        return f"{names.get(draft['style'], draft['style'])}{core}"
    return f"Best attempt: unmet, not a finished text{core}"


def writing_label(event: dict[str, Any]) -> str:
    """The text box's label while a candidate streams."""
    return f"Being written: {_who(event)}"


def prediction_line(draft: dict[str, Any], names: dict[str, str]) -> str:
    """The classifier's verdict beside the style asked for, and similarity for rewrites."""
    predicted, asked = draft["predicted_style"], draft["style"]
    agrees = "matches the style asked for" if predicted == asked else f"asked for {names[asked]}"
    line = f"{names.get(predicted, predicted)}: {agrees}"
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
    """Every style by name with its number of ratings and average satisfaction (— unrated)."""
    return [
        [
            style_label(s),
            s["ratings"]["count"],
            "—" if s["ratings"]["average"] is None else f"{s['ratings']['average']:.2f}",
        ]
        for s in styles
    ]
