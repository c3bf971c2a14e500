"""`twincore support ...`: load the Northwind knowledge graph and known issues, extract issues
from articles for review, show the graph schema; and `twincore eval support` (`eval_command`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json
from twincore.platform.graph import open_graph_store
from twincore.services.support.knowledge.northwind import DATA_DIR

if TYPE_CHECKING:
    from twincore.platform.settings import Settings
    from twincore.services.support.knowledge.extraction import Extraction

DEFAULT_QUESTIONS = DATA_DIR / "text2cypher_dev.csv"

app = typer.Typer(help="Knowledge-graph customer support.", no_args_is_help=True)
load_app = typer.Typer(help="Load data into the knowledge graph.", no_args_is_help=True)
app.add_typer(load_app, name="load")


@load_app.command("northwind")
def load_northwind_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print counts and time as JSON")] = False,
) -> None:
    """Replace the graph with the Northwind data (nodes, relationships, indexes)."""
    from twincore.services.support.knowledge.northwind import load_northwind

    store = open_graph_store(load_settings())
    try:
        with console.status("loading Northwind into the graph"):
            report = load_northwind(store)
    except Exception as exc:  # the store raises GraphError with a readable message
        fail(f"loading Northwind failed: {exc}")
        return
    finally:
        store.close()
    data = {
        "nodes": report.nodes,
        "total_nodes": sum(report.nodes.values()),
        "relationships": report.relationships,
        "load_seconds": round(report.seconds, 3),
    }
    if as_json:
        print_json(data)
        return
    console.print(
        f"loaded {data['total_nodes']} nodes, {sum(report.relationships.values())} "
        f"relationships in {report.seconds:.2f} s"
    )
    print_json(data)


@app.command("schema")
def schema_cmd() -> None:
    """Print the graph schema (labels, relationship endpoints, property types)."""
    store = open_graph_store(load_settings())
    try:
        console.print(store.schema().as_text(), markup=False)
    finally:
        store.close()


@load_app.command("issues")
def load_issues_cmd(
    file: Annotated[
        Path | None, typer.Argument(help="known-issues YAML; default: the shipped example")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
) -> None:
    """Merge known issues and solutions into the graph (validated first; all or nothing)."""
    from twincore.services.support.knowledge.issues import (
        DEFAULT_FILE,
        KnowledgeError,
        counts,
        load_issues,
        read_file,
    )

    path = file or DEFAULT_FILE
    store = open_graph_store(load_settings())
    try:
        resolved = read_file(path, store)
        report = load_issues(store, resolved.issues)
        in_graph = counts(store)
    except KnowledgeError as exc:
        fail(str(exc), code=2)
        return
    except Exception as exc:  # GraphError and friends carry a readable message
        fail(f"loading known issues failed: {exc}")
        return
    finally:
        store.close()
    data = {
        "file": str(path),
        "issues": report.issues,
        "solutions": report.solutions,
        "products": report.products,
        "in_graph": in_graph,
    }
    if as_json:
        print_json(data)
        return
    console.print(
        f"loaded {report.issues} issues with {report.solutions} solutions for "
        f"{report.products} products from {path}"
    )
    print_json(data)


@app.command("extract")
def extract_cmd(
    article: Annotated[Path, typer.Argument(help="a free-text support article (UTF-8)")],
    out: Annotated[
        Path | None, typer.Option(help="YAML to write; default: ARTICLE with .issues.yaml")
    ] = None,
    model: Annotated[str, typer.Option(help="deep | swift | auto: the core that reads")] = "deep",
    max_tokens: Annotated[int, typer.Option(min=32, max=2048, help="reply budget")] = 400,
) -> None:
    """Ask a core for known issues in ARTICLE; write them as YAML for review (not to the graph)."""
    from twincore.services.support.knowledge.extraction import ExtractionError
    from twincore.services.support.knowledge.issues import catalogue_of, to_yaml

    if model not in ("deep", "swift", "auto"):
        fail(f"--model must be deep, swift or auto, not {model!r}", code=2)
    try:
        text = article.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {article}: {exc}", code=2)
        return
    settings = load_settings()
    store = open_graph_store(settings)
    try:
        catalogue = catalogue_of(store)
    finally:
        store.close()
    target = out or article.with_suffix(".issues.yaml")
    try:
        with console.status(f"the {model} core reads {article.name}"):
            found = asyncio.run(_extract(settings, model, text, catalogue, max_tokens))
    except ExtractionError as exc:
        fail(str(exc))
        return
    header = (
        f"Known issues extracted from {article.name} by the {found.core or model} core.\n"
        "Review every entry, then load it: twincore support load issues "
        f"{target}"
    )
    target.write_text(to_yaml(found.issues, header), encoding="utf-8")
    for note in found.notes:
        console.print(f"[yellow]corrected[/yellow] {note}")
    for reason in found.rejected:
        console.print(f"[red]rejected[/red] {reason}", markup=True)
    console.print(
        f"{len(found.issues)} issue(s) written to {target} for review; nothing was written "
        f"to the graph. Load them with: twincore support load issues {target}"
    )


async def _extract(
    settings: Settings, model: str, text: str, catalogue: dict[str, str], max_tokens: int
) -> Extraction:
    """Extraction over in-process cores (only the one asked for, both for auto)."""
    from twincore.platform.evals.local import core_names, local_router
    from twincore.services.support.knowledge.extraction import extract_issues
    from twincore.services.support.service import support_chat_model

    async with local_router(settings, core_names(model)) as router:
        chat = support_chat_model(router, model=model)
        # The chat model's sync calls run their own loop: keep them off this one.
        return await asyncio.to_thread(extract_issues, text, chat, catalogue, max_tokens=max_tokens)


def eval_command(
    questions: Annotated[
        Path, typer.Option(help="CSV with question, cypher (reference) and optional type columns")
    ] = DEFAULT_QUESTIONS,
    core: Annotated[
        str, typer.Option(help="swift | deep | both | cascade (auto over both cores)")
    ] = "swift",
    limit: Annotated[
        int, typer.Option(min=0, help="first N executable questions only; 0: all")
    ] = 0,
    attempts: Annotated[
        int, typer.Option(min=0, help="attempts per question; 0: the routing policy's ladder")
    ] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run each reference query and each core's query through the service's checker and
    escalation ladder on a fresh Northwind graph; report execution accuracy, executable
    questions, accepted-query rate and accuracy per question type, per core."""
    from twincore.services.support.eval.scoring import load_questions
    from twincore.services.support.evals import CORE_CHOICES, report_name, run_support_eval

    if core not in CORE_CHOICES:
        fail(f"--core must be one of {', '.join(CORE_CHOICES)}, not {core!r}", code=2)
    if not questions.is_file():
        fail(f"no questions file at {questions}", code=2)
    try:
        loaded = load_questions(questions)
    except (ValueError, KeyError) as error:
        fail(str(error), code=2)
        return
    settings = load_settings()
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"support eval ({core})", total=None)
        report, path = run_support_eval(
            settings,
            loaded,
            name=report_name(questions, core, limit),
            core=core,
            limit=limit or None,
            max_attempts=attempts or None,
            on_total=lambda total: progress.update(bar, total=total),
            on_done=lambda: progress.advance(bar),
        )
    if json_output:
        print_json(report)
        return
    table = Table("core", "type", "questions", "correct", "accuracy")
    for name, data in report["per_core"].items():
        for kind, row in data["per_type"].items():
            table.add_row(
                name, kind, str(row["questions"]), str(row["correct"]), f"{row['accuracy']:.3f}"
            )
        table.add_row(
            name,
            "[bold]all[/bold]",
            str(data["questions"]),
            str(data["correct"]),
            f"{data['execution_accuracy']:.3f}",
        )
    console.print(table)
    per_core = "  ".join(
        f"{name}: accuracy {d['execution_accuracy']:.3f} valid {d['valid_query_rate']:.3f}"
        for name, d in report["per_core"].items()
    )
    console.print(
        f"{report['questions']} questions, {report['executable_questions']} executable "
        f"({report['reference_errors']} reference errors, {report['reference_empty']} empty)\n"
        f"{per_core}\nsaved to {path}"
    )
