"""`twincore writing ...`: styles, check a text, labelled drafts, retrain the classifier; and
`twincore eval writing` (`eval_command`): constraint pass rate, classifier accuracy and content
similarity per style, guided vs unguided, per core, over the shipped topics and source texts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, track
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json
from twincore.platform.errors import ServiceError

app = typer.Typer(
    help="Multi-style writing: styles, checkers, style classifier.", no_args_is_help=True
)


@app.command("styles")
def styles() -> None:
    """List the shipped styles."""
    from twincore.services.writing.registry import load_styles

    table = Table("id", "name", "language", "constraints")
    for s in load_styles().values():
        table.add_row(s.id, s.display_name, s.language, str(len(s.constraints)))
    console.print(table)


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8 text file")],
    style: Annotated[str, typer.Option("--style", help="style id (see `twincore writing styles`)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check FILE against a style's constraints and predict its style."""
    from twincore.services.writing.checkers import check_text
    from twincore.services.writing.classify.classifier import load_classifier
    from twincore.services.writing.registry import get_style

    try:
        chosen = get_style(style)
    except ServiceError as exc:
        fail(exc.message)
        return
    text = file.read_text(encoding="utf-8")
    report = check_text(chosen, text)
    predicted = load_classifier().predict(text)
    if as_json:
        print_json(
            {
                "style": chosen.id,
                "score": report.score,
                "passed": report.passed,
                "reasons": report.reasons,
                "predicted_style": predicted,
            }
        )
        return
    console.print(
        f"{chosen.id}: score {report.score:.2f} ({'pass' if report.passed else 'fail'}); "
        f"predicted style {predicted}"
    )
    for reason in report.reasons:
        console.print(f"  - {reason}")


@app.command("train-classifier")
def train_classifier(
    epochs: Annotated[int, typer.Option(help="gradient-descent epochs")] = 300,
) -> None:
    """Retrain the style classifier on the training split of exemplars + labelled drafts,
    overwrite the shipped artifact, print held-out accuracy overall and per style."""
    from twincore.services.writing.classify import classifier, labelled
    from twincore.services.writing.registry import load_styles

    try:
        drafts = [(row["text"], row["style"]) for row in labelled.load_labelled()]
    except ValueError as exc:
        fail(str(exc), code=2)
        return
    train_set, held_out = classifier.labelled_split(drafts)
    texts = [t for t, _ in track(train_set, description="training", console=err_console)]
    model = classifier.train(texts, [lbl for _, lbl in train_set], epochs=epochs)
    model.save()
    print_json(
        {
            "exemplars": sum(len(s.exemplars) for s in load_styles().values()),
            "labelled_drafts": len(drafts),
            "train": len(train_set),
            "held_out": len(held_out),
            "seed": classifier.SPLIT_SEED,
            "held_out_accuracy": round(classifier.accuracy(model, held_out), 4),
            "held_out_per_style": classifier.per_style_accuracy(model, held_out),
            "artifact": str(classifier.ARTIFACT),
        }
    )


@app.command("make-drafts")
def make_drafts(
    core: Annotated[str, typer.Option(help="swift, deep or both")] = "swift",
    styles: Annotated[
        list[str] | None, typer.Option("--style", help="style id; repeat for more; default all")
    ] = None,
    candidates: Annotated[int, typer.Option(min=1, max=8, help="candidates per topic")] = 2,
    limit: Annotated[int, typer.Option(min=0, help="first N draft topics; 0: all")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="runs at once")] = 4,
) -> None:
    """Compose on the draft topics with the cores and write the labelled-draft corpus
    (replacing that core's generated rows for those styles; hand-written rows stay)."""
    from twincore.platform.evals.local import core_names
    from twincore.services.writing import evals
    from twincore.services.writing.classify import labelled
    from twincore.services.writing.evaluation.items import load_topics, resolve_styles

    try:
        names = core_names(core)
        chosen = resolve_styles(styles)
    except (ValueError, ServiceError) as exc:
        fail(str(exc), code=2)
        return
    settings = load_settings()
    topics = len(load_topics(labelled.DRAFT_TOPICS))
    total = len(names) * len(chosen) * (min(limit, topics) if limit else topics)
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"drafts ({core})", total=total)
        rows = evals.make_drafts(
            settings,
            chosen,
            cores=names,
            candidates=candidates,
            limit=limit or None,
            concurrency=concurrency,
            on_done=lambda: progress.advance(bar),
        )
    merged = labelled.merge_rows(labelled.load_labelled(), rows, names)
    labelled.write_labelled(merged)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["style"]] = counts.get(row["style"], 0) + 1
    print_json({"kept": len(rows), "per_style": counts, "corpus": len(merged)})


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def eval_command(
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
    forms: Annotated[
        bool, typer.Option(help="hold every draft to its style's form grammar (forms.py)")
    ] = True,
    rescore: Annotated[
        Path | None,
        typer.Option(
            help="check the texts an earlier report (.json) or interrupted run (.rows.jsonl) "
            "recorded again (no generation)"
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Write every shipped topic (compose) and source (rewrite) in each style; score the
    guided result and the unguided first sample with the checkers and the classifier."""
    from twincore.platform.evals.local import core_names
    from twincore.services.writing import evals
    from twincore.services.writing.evaluation.items import eval_items, resolve_styles

    try:
        names = core_names(core)
        items = eval_items(resolve_styles(styles), limit=limit or None)
    except (ValueError, ServiceError) as exc:
        fail(str(exc), code=2)
        return
    if rescore is not None and not rescore.is_file():
        fail(f"no report at {rescore}", code=2)
    settings = load_settings()
    if rescore is not None:
        try:
            report, path = evals.rescore_file(settings, rescore)
        except (OSError, ValueError, KeyError, ServiceError) as exc:
            fail(f"cannot rescore {rescore}: {exc}", code=2)
            return
        _show(report, path, json_output)
        return
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"writing eval ({core})", total=len(items) * len(names))
        report, path = evals.evaluate(
            settings,
            items,
            cores=names,
            name=core + (f"-limit{limit}" if limit else "") + ("" if forms else "-noforms"),
            candidates=candidates,
            concurrency=concurrency,
            forms=forms,
            on_done=lambda: progress.advance(bar),
        )
    _show(report, path, json_output)


def _show(report: dict[str, Any], path: Path, json_output: bool) -> None:
    from twincore.services.writing.evaluation.report import table_rows

    if json_output:
        print_json(report)
        return
    table = Table(
        "core", "style", "condition", "n", "pass rate", "mean score", "classifier", "similarity"
    )
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
    wall = f"wall {report['wall_s']}s; " if "wall_s" in report else ""
    console.print(f"{wall}saved to {path}")
