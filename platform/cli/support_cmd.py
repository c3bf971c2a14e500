"""`twincore support ...`: load the Northwind knowledge graph and known issues, extract issues
from articles for review, show the graph schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, fail, print_json
from twincore.platform.graph import open_graph_store

if TYPE_CHECKING:
    from twincore.platform.settings import Settings
    from twincore.services.support.extraction import Extraction

app = typer.Typer(help="Knowledge-graph customer support.", no_args_is_help=True)
load_app = typer.Typer(help="Load data into the knowledge graph.", no_args_is_help=True)
app.add_typer(load_app, name="load")


@load_app.command("northwind")
def load_northwind_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print counts and time as JSON")] = False,
) -> None:
    """Replace the graph with the Northwind data (nodes, relationships, indexes)."""
    from twincore.services.support.northwind import load_northwind

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
    from twincore.services.support.knowledge import (
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
    from twincore.services.support.extraction import ExtractionError
    from twincore.services.support.knowledge import catalogue_of, to_yaml

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
    from twincore.platform.cores import CoreServer
    from twincore.platform.router.setup import build_router
    from twincore.services.support.extraction import extract_issues
    from twincore.services.support.support_model import support_chat_model

    names = ("deep", "swift") if model == "auto" else (model,)
    cores = {
        name: CoreServer(name, getattr(settings.cores, name), data_dir=settings.data_dir)
        for name in names
    }
    try:
        chat = support_chat_model(build_router(cores, settings), model=model)
        # The chat model's sync calls run their own loop: keep them off this one.
        return await asyncio.to_thread(extract_issues, text, chat, catalogue, max_tokens=max_tokens)
    finally:
        for core in cores.values():
            await core.aclose()
