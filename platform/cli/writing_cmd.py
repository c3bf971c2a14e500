"""`twincore writing ...`: list styles, check a text against one, retrain the style classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track
from rich.table import Table

from twincore.platform.cli.output import console, fail, print_json

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
    """Retrain the style classifier on the training split and overwrite the shipped artifact."""
    from twincore.services.writing import classifier

    train_set, held_out = classifier.split_exemplars()
    texts = [t for t, _ in track(train_set, description="texts")]
    model = classifier.train(texts, [lbl for _, lbl in train_set], epochs=epochs)
    model.save()
    print_json(
        {
            "train": len(train_set),
            "held_out": len(held_out),
            "held_out_accuracy": classifier.accuracy(model, held_out),
            "artifact": str(classifier.ARTIFACT),
        }
    )
