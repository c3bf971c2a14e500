"""`twincore support ...`: load the Northwind knowledge graph, show the graph schema."""

from __future__ import annotations

from typing import Annotated

import typer

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, fail, print_json
from twincore.platform.graph import open_graph_store

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
