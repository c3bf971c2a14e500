"""`twincore eval writing`: constraint pass rate, classifier accuracy and content similarity per
style, guided vs unguided, per core, over the shipped topics and source texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def writing(
    core: Annotated[str, typer.Option(help="swift, deep or both")] = "swift",
    limit: Annotated[
        int, typer.Option(min=0, help="first N topics and N sources per style; 0: all")
    ] = 0,
    styles: Annotated[
        list[str] | None, typer.Option("--styles", help="style id; repeat for more; default all")
    ] = None,
    candidates: Annotated[
        int, typer.Option(min=1, max=8, help="best-of-n candidates of a guided run")
    ] = 2,
    concurrency: Annotated[int, typer.Option(min=1, help="runs at once (batched)")] = 4,
    rescore: Annotated[
        Path | None,
        typer.Option(help="check the texts an earlier report recorded again (no generation)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Write every shipped topic (compose) and source (rewrite) in each style; score the
    guided result and the unguided first sample with the checkers and the classifier."""
    from twincore.services.writing.evaluation import evaluate, resolve_cores, save_report
    from twincore.services.writing.evaluation_items import eval_items, resolve_styles

    try:
        names = resolve_cores(core)
        items = eval_items(resolve_styles(styles), limit=limit or None)
    except (ValueError, KeyError) as exc:
        fail(str(exc.args[0]), code=2)
        return
    if rescore is not None and not rescore.is_file():
        fail(f"no report at {rescore}", code=2)
    settings = load_settings()
    if rescore is not None:
        from twincore.services.writing.evaluation import rescore as rescore_report

        try:
            report = rescore_report(json.loads(rescore.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            fail(f"cannot rescore {rescore}: {exc}", code=2)
            return
        _show(
            report,
            save_report(settings, rescore.stem.removeprefix("writing-") + "-rescored", report),
            json_output,
        )
        return
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"writing eval ({core})", total=len(items) * len(names))
        report = evaluate(
            settings,
            items,
            cores=names,
            candidates=candidates,
            concurrency=concurrency,
            on_done=lambda: progress.advance(bar),
        )
    _show(
        report,
        save_report(settings, core + (f"-limit{limit}" if limit else ""), report),
        json_output,
    )


def _show(report: dict[str, Any], path: Path, json_output: bool) -> None:
    if json_output:
        print_json(report)
        return
    table = Table(
        "core", "style", "condition", "n", "pass rate", "mean score", "classifier", "similarity"
    )
    from twincore.services.writing.evaluation_report import table_rows

    for name, style, condition, s in table_rows(report):
        table.add_row(
            name,
            style,
            condition,
            str(s["n"]),
            _rate(s["constraint_pass_rate"]),
            _rate(s["mean_score"]),
            _rate(s["classifier_accuracy"]),
            _rate(s["content_similarity"]),
        )
    console.print(table)
    console.print(f"wall {report['wall_s']}s; saved to {path}")
