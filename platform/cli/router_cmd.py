"""`twincore router ...`: train the stage-1 classifier, classify text, fit the policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json

app = typer.Typer(
    help="The router: its task classifier and its fitted policy.", no_args_is_help=True
)


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


@app.command("fit")
def fit(
    answers: Annotated[
        Path | None,
        typer.Option(help="recorded answers; default those of the last `twincore eval router`"),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="policy file to write; default <data_dir>/router/policy.yaml"),
    ] = None,
    per_service: Annotated[
        int, typer.Option(min=0, help="items per service the answers cover; 0: all")
    ] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="print the provenance")] = False,
) -> None:
    """Fit the routing policy's deep-score weights and threshold on the calibration half of
    recorded answers, starting from the configured policy (default: the packaged seed policy's
    rules); write a policy YAML carrying its provenance (`router.policy` uses it)."""
    from twincore.platform.evals.runner import answers_path, load_items, read_answers
    from twincore.platform.router.fit import fit_policy, policy_yaml
    from twincore.platform.router.policy import TwoStagePolicy
    from twincore.platform.router.rules import load_policy, seed_policy
    from twincore.platform.router.setup import build_policy

    settings = load_settings()
    source = answers or answers_path(settings)
    if not source.is_file():
        fail(f"no recorded answers at {source}: run `twincore eval router` first", code=2)
    target = output or settings.data_dir / "router" / "policy.yaml"
    try:
        recorded = read_answers(source)
        items = [
            i for i in load_items(per_service or None)
            if all(i.id in recorded.get(core, {}) for core in ("swift", "deep"))
        ]  # fmt: skip
        # The fit starts from the configured policy's rules, else from the hand-written seed
        # (the packaged default is itself a fit: fitting it again would start from its output).
        start = build_policy(settings)
        if settings.router.policy is None:
            start = TwoStagePolicy(load_policy(seed_policy()), start.classifier)
        config = fit_policy(start, items, recorded, source=str(source))
    except (OSError, ValueError, KeyError) as error:
        fail(f"cannot fit: {error}", code=2)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(policy_yaml(config), encoding="utf-8")
    if json_output:
        print_json({"path": str(target), "deep_threshold": config.deep_threshold,
                    "weights": config.score.weights, "provenance": config.provenance})  # fmt: skip
        return
    console.print(
        f"policy -> {target}\ndeep threshold {config.deep_threshold}, weights "
        f"{config.score.weights}\ncalibration: {config.provenance.get('calibration')}"
    )
