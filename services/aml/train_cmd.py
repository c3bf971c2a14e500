"""`twincore aml train`: train the AML risk model on labelled dataset folders and save it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import err_console, fail, print_facts, print_json


def train(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="labelled dataset folder or file (AMLSim, AMLworld, canonical); repeat for more",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option(help="artifact folder; default <data_dir>/aml/model")
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="account or transaction; default: from the labels")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Build features on every dataset, train the calibrated LightGBM model, save it where
    detection runs look for it."""
    from twincore.services.aml.classifier import Level
    from twincore.services.aml.training import load_dataset_dir, train_on_datasets

    levels: dict[str, Level] = {"account": "account", "transaction": "transaction"}
    if level is not None and level not in levels:
        fail(f"--level must be account or transaction, not {level!r}", code=2)
    chosen = levels[level] if level is not None else None
    target = output or load_settings().data_dir / "aml" / "model"
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
    )
    try:
        with Progress(*columns, console=err_console, transient=True) as progress:
            bar = progress.add_task("loading", total=2 * len(data))
            datasets = []
            for path in data:
                progress.update(bar, description=f"loading {path.name}")
                datasets.append(load_dataset_dir(path))
                progress.advance(bar)
            model = train_on_datasets(
                datasets,
                level=chosen,
                on_dataset=lambda name: progress.update(
                    bar, advance=1, description=f"features of {name}; then training"
                ),
            )
    except ValueError as exc:  # IngestError included: a malformed file, with its line numbers
        fail(str(exc), code=2)
        return
    model.save(target)
    summary = {
        "output": str(target),
        "level": model.level,
        "trained_on": model.metadata["trained_on"],
        "rows": model.metadata["rows"],
        "positives": model.metadata["positives"],
        "threshold": round(model.threshold, 6),
        "oof_metrics": model.metadata["oof_metrics"],
        "importance": dict(list(model.metadata["importance"].items())[:10]),
    }
    if json_output:
        print_json(summary)
        return
    oof = summary["oof_metrics"]
    print_facts(
        {
            "saved to": summary["output"],
            "level": summary["level"],
            "trained on": ", ".join(summary["trained_on"]),
            "rows": summary["rows"],
            "positives": summary["positives"],
            "threshold": summary["threshold"],
            "out-of-fold P / R / F1": (
                f"{oof['precision']:.3f} / {oof['recall']:.3f} / {oof['f1']:.3f}"
            ),
            "top features": ", ".join(list(summary["importance"])[:5]),
        },
        title="AML risk model",
    )
