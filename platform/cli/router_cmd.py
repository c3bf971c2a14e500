"""`twincore router ...`: train the stage-1 classifier and classify text with it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json

app = typer.Typer(help="The router's task classifier.", no_args_is_help=True)


@app.command("train")
def train(
    output: Annotated[
        Path | None,
        typer.Option(help="artifact directory; default <data_dir>/router/classifier"),
    ] = None,
    prompts: Annotated[
        Path | None, typer.Option(help="directory of *.jsonl prompt files; default the shipped set")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="print the artifact's metadata")
    ] = False,
) -> None:
    """Rebuild the classifier from the labelled prompt set; report held-out accuracy."""
    from twincore.platform.router.setup import trained_classifier_dir
    from twincore.platform.router.training import train as train_classifier

    settings = load_settings()
    target = output or trained_classifier_dir(settings)
    try:
        with err_console.status("training the task classifier ..."):
            meta = train_classifier(target, prompts_dir=prompts, data_dir=settings.data_dir)
    except (OSError, ValueError) as error:
        fail(f"cannot train: {error}", code=2)
        return
    if json_output:
        print_json({"path": str(target), **meta})
        return
    data = meta["data"]
    console.print(
        f"classifier {meta['version']} -> {target}\n"
        f"{data['prompts']} prompts ({data['train']} train, {data['held_out']} held out), "
        f"by language {data['by_lang']}"
    )
    table = Table("head", "held-out accuracy", *meta["held_out_accuracy_by_lang"])
    for head, value in meta["held_out_accuracy"].items():
        by_lang = [f"{v[head]:.3f}" for v in meta["held_out_accuracy_by_lang"].values()]
        table.add_row(head, f"{value:.3f}", *by_lang)
    console.print(table)


@app.command("classify")
def classify(
    text: Annotated[str, typer.Argument(help="the prompt to classify")],
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the task's labels (domain, interactivity, difficulty) with their probabilities."""
    from twincore.platform.router.classifier import TaskClassifier
    from twincore.platform.router.setup import classifier_dir

    if not text.strip():
        fail("give a non-empty text to classify", code=2)
    settings = load_settings()
    try:
        classifier = TaskClassifier.load(classifier_dir(settings), data_dir=settings.data_dir)
    except (OSError, ValueError, KeyError) as error:
        fail(f"cannot load the classifier: {error}", code=2)
        return
    labels = classifier.classify(text)
    if json_output:
        print_json({"classifier": classifier.version, "labels": labels.as_dict()})
        return
    table = Table("head", "label", "probabilities")
    for head, probs in labels.probabilities.items():
        ranked = sorted(probs.items(), key=lambda item: -item[1])
        table.add_row(head, labels.label(head), "  ".join(f"{k} {v:.2f}" for k, v in ranked))
    console.print(table)
    console.print(f"classifier {classifier.version}")
