"""`twincore aml ...`: generate synthetic datasets, ingest files into the database, list them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_facts, print_json
from twincore.services.aml import train_cmd

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="Anti-money-laundering data and detection.", no_args_is_help=True)
app.command("train")(train_cmd.train)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]


def _engine() -> Engine:
    from twincore.platform.db import create_db_engine
    from twincore.platform.db.migrate import current, heads

    settings = load_settings()
    if sorted(current(settings.database_url)) != sorted(heads()):
        fail("the database schema is not current: run `twincore db upgrade` first")
    return create_db_engine(settings.database_url)


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
    from twincore.services.aml.generator import GeneratorConfig, generate, write_generated

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
    from twincore.services.aml.formats import IngestError, read_dataset
    from twincore.services.aml.store import DatasetExistsError, get_dataset_info, store_dataset

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
    except (DatasetExistsError, ValueError) as exc:
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
