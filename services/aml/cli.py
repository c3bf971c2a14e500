"""`twincore aml ...` (generate synthetic datasets, ingest files, list them, train the risk model),
`twincore eval aml` (detection quality) and `twincore bench aml` (ingest + detection speed).

Thin: parse the options, call the data functions, `evals` or `detect.bench`, print. The heavy
modules (pandas, LightGBM, SQLAlchemy, and the error family, which pulls in torch) load inside
the commands, so `twincore --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_facts, print_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from twincore.services.aml.detect.classifier import Level

app = typer.Typer(help="Anti-money-laundering data and detection.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
LevelOption = Annotated[
    str | None, typer.Option(help="account or transaction; default: from the labels")
]


def _engine() -> Engine:
    from twincore.platform.db import create_db_engine
    from twincore.platform.db.migrate import current, heads

    settings = load_settings()
    if sorted(current(settings.database_url)) != sorted(heads()):
        fail("the database schema is not current: run `twincore db upgrade` first")
    return create_db_engine(settings.database_url)


def _level(value: str | None) -> Level | None:
    """The `--level` option checked: None (follow the labels), account or transaction."""
    if value not in (None, "account", "transaction"):
        fail(f"--level must be account or transaction, not {value!r}", code=2)
    return cast("Level | None", value)


@app.command("generate")
def generate_cmd(
    accounts: Annotated[int, typer.Option(min=50, help="number of accounts")] = 1_000,
    days: Annotated[int, typer.Option(min=1, help="days simulated (from 2022-09-01)")] = 30,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same files")] = 0,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("aml-generated"),
    transactions: Annotated[
        int | None, typer.Option(min=1, help="total transactions (default accounts*days/2)")
    ] = None,
    laundering_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="share of laundering transactions")
    ] = 0.0015,
    min_instances: Annotated[
        int, typer.Option(min=0, help="plant every pattern at least this often")
    ] = 2,
    json_output: JsonFlag = False,
) -> None:
    """Write an AMLworld-format dataset with the eight typologies and structuring planted and
    labelled: transactions.csv, patterns.csv (row,pattern,group), metadata.json."""
    from twincore.services.aml.ingest.generator import GeneratorConfig, generate, write_generated

    config = GeneratorConfig(
        accounts=accounts,
        days=days,
        seed=seed,
        transactions=transactions,
        laundering_rate=laundering_rate,
        min_instances=min_instances,
    )
    try:
        with err_console.status(f"generating {config.total():,} transactions ..."):
            data = generate(config)
            write_generated(data, out)
    except (ValueError, OSError) as exc:
        fail(str(exc), code=2)
        return
    summary = {"out": str(out), **{k: v for k, v in data.metadata.items() if k != "config"}}
    if json_output:
        print_json(summary)
        return
    print_facts(
        {
            "folder": str(out),
            "accounts": data.metadata["accounts"],
            "transactions": data.metadata["transactions"],
            "laundering transactions": data.metadata["laundering_transactions"],
            **{
                f"  {name}": f"{v['instances']} instances, {v['transactions']} txns"
                for name, v in data.metadata["patterns"].items()
            },
        },
        title="generated",
    )


@app.command("ingest")
def ingest_cmd(
    path: Annotated[Path, typer.Argument(help="CSV file, folder or .tgz/.zip archive")],
    name: Annotated[str, typer.Option("--name", "-n", help="dataset name (unique)")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, amlsim, amlworld or canonical")
    ] = "auto",
    json_output: JsonFlag = False,
) -> None:
    """Parse, validate and store a dataset: all of it, or nothing with every bad line listed."""
    from twincore.platform.errors import ServiceError
    from twincore.services.aml.ingest.formats import IngestError, read_dataset
    from twincore.services.aml.store import get_dataset_info, store_dataset

    if fmt not in ("auto", "amlsim", "amlworld", "canonical"):
        fail(f"--format must be auto, amlsim, amlworld or canonical, not {fmt!r}", code=2)
    engine = _engine()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task(f"reading {path.name}", total=None)
            dataset = read_dataset(
                path,
                name=name,
                fmt=fmt,  # type: ignore[arg-type]  # checked above
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
            progress.update(task, description=f"storing {dataset.n_transactions:,} transactions")
            dataset_id = store_dataset(engine, dataset)
        info = get_dataset_info(engine, dataset_id)
    except IngestError as exc:
        if json_output:
            print_json({"error": exc.as_dict()})
        else:
            for issue in exc.issues:
                err_console.print(f"  {issue}")
        fail(f"{exc.total} problem(s); nothing was stored", code=2)
        return
    except (ServiceError, ValueError) as exc:  # a taken name, a bad name
        fail(str(exc), code=2)
        return
    finally:
        engine.dispose()
    if json_output:
        print_json(info.as_dict())
        return
    print_facts(info.as_dict(), title=f"dataset {info.id}")


@app.command("datasets")
def datasets_cmd(json_output: JsonFlag = False) -> None:
    """List the stored datasets."""
    from twincore.services.aml.store import list_datasets

    engine = _engine()
    try:
        rows = [info.as_dict() for info in list_datasets(engine)]
    finally:
        engine.dispose()
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "format", "labels", "accounts", "transactions", "created")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["source_format"],
            row["label_level"] or "-",
            f"{row['n_accounts']:,}",
            f"{row['n_transactions']:,}",
            row["created_at"][:19],
        )
    console.print(table)


@app.command("train")
def train_cmd(
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
    level: LevelOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Build features on every dataset, train the calibrated LightGBM model, save it where
    detection runs look for it."""
    from twincore.platform.errors import ServiceError
    from twincore.services.aml.detect.training import load_dataset_dir, train_on_datasets

    chosen = _level(level)
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
    except (ServiceError, ValueError) as exc:  # a malformed file (with its lines), wrong labels
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


def eval_command(
    train: Annotated[
        list[Path], typer.Option("--train", help="labelled training folder; repeat for more")
    ],
    test: Annotated[Path, typer.Option("--test", help="labelled folder to score")],
    level: LevelOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Train the AML risk model on --train, detect on --test: precision, recall, F1 at the
    model's own threshold, and recall per typology. The report is saved to
    <data_dir>/evals/aml-detection.json."""
    from twincore.platform.errors import ServiceError
    from twincore.services.aml.evals import evaluate_and_save

    chosen = _level(level)
    settings = load_settings()
    try:
        with err_console.status("evaluating ...") as status:
            report, path = evaluate_and_save(
                settings,
                train,
                test,
                level=chosen,
                on_stage=lambda stage: status.update(f"AML eval: {stage} ..."),
            )
    except (ServiceError, ValueError) as error:  # a malformed or unlabelled dataset, with why
        fail(str(error), code=2)
        return
    if json_output:
        print_json(report)
        return
    table = Table("metric", "value", title=f"AML {report['level']} level: {report['test']}")
    for key in ("precision", "recall", "f1"):
        table.add_row(key, f"{report[key]:.4f}")
    for key, value in report["counts"].items():
        table.add_row(key, f"{value:,}")
    for name, value in report["per_typology_recall"].items():
        detector = report["detector_recall"].get(name, 0.0)
        table.add_row(f"recall {name}", f"{value:.3f} (detector {detector:.3f})")
    console.print(table)
    console.print(f"saved to {path}")


def bench_command(
    transactions: Annotated[
        int, typer.Option(min=1_000, help="transactions generated")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option(help="generator seed")] = 0,
    train_transactions: Annotated[
        int, typer.Option(min=0, help="size of the (untimed) training set; 0 = rule scores")
    ] = 100_000,
    model_dir: Annotated[
        Path | None, typer.Option("--model", help="trained AML model folder to score with")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """AML end to end on a generated dataset: ingest (parse, validate, store in SQLite) +
    detection + scoring, timed; peak memory (goal for 1M: < 120 s, < 4 GB)."""
    from twincore.platform.errors import ServiceError
    from twincore.services.aml.detect.bench import AmlBench, bench_aml

    bench = AmlBench(
        transactions=transactions,
        seed=seed,
        train_transactions=train_transactions,
        model_dir=model_dir,
    )
    try:
        with err_console.status(f"benchmarking AML on {transactions:,} transactions ...") as status:
            report = bench_aml(bench, on_stage=lambda text: status.update(f"{text} ..."))
    except (ServiceError, ValueError) as exc:
        fail(str(exc), code=2)
        return
    if json_output:
        print_json(report)
        return
    stages = report.pop("stages")
    print_facts({**report, **{f"stage {k}": v for k, v in stages.items()}}, "AML benchmark")
