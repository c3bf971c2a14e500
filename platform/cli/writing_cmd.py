"""`twincore writing ...`: styles, check a text, labelled drafts, retrain the classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, track
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json

app = typer.Typer(
    help="Multi-style writing: styles, checkers, style classifier.", no_args_is_help=True
)


@app.command("styles")
def styles() -> None:
    """List the shipped styles."""
    from twincore.services.writing.registry import load_styles

    table = Table("id", "name", "language", "constraints")
    for s in load_styles().values():
        table.add_row(s.id, f"{s.name_en} / {s.name_zh}", s.language, str(len(s.constraints)))
    console.print(table)


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8 text file")],
    style: Annotated[str, typer.Option("--style", help="style id (see `twincore writing styles`)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check FILE against a style's constraints and predict its style."""
    from twincore.services.writing.checkers import check_text
    from twincore.services.writing.classifier import load_classifier
    from twincore.services.writing.registry import get_style

    try:
        chosen = get_style(style)
    except KeyError as exc:
        fail(str(exc.args[0]))
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
    from twincore.services.writing import classifier, labelled
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
    from twincore.services.writing import labelled
    from twincore.services.writing.evaluation import resolve_cores
    from twincore.services.writing.evaluation_items import load_topics, resolve_styles

    try:
        names = resolve_cores(core)
        chosen = resolve_styles(styles)
    except (ValueError, KeyError) as exc:
        fail(str(exc.args[0]), code=2)
        return
    settings = load_settings()
    topics = len(load_topics(labelled.DRAFT_TOPICS))
    total = len(names) * len(chosen) * (min(limit, topics) if limit else topics)
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"drafts ({core})", total=total)
        rows = labelled.generate_drafts(
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
