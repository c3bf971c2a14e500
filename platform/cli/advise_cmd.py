"""`twincore advise`: the deployment decision tree as a command (layout per core, reasons, and
the serve.yaml fragment that realises it)."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from twincore.platform.cli.output import console, fail, print_json


def advise(
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs in the cluster")],
    domain: Annotated[
        str, typer.Option("--domain", help="aml, support, code, writing, math or chat")
    ],
    latency_ms: Annotated[
        float | None, typer.Option("--latency-ms", help="latency target of a request")
    ] = None,
    gpus_per_node: Annotated[int, typer.Option(help="GPUs per worker node")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Which architecture, preset, expert layout and replicas each core should get."""
    from rich.table import Table

    from twincore.platform.advise import AdviceError, advice_json
    from twincore.platform.advise import advise as decide

    try:
        advice = decide(
            gpus=gpus, domain=domain, latency_ms=latency_ms, gpus_per_node=gpus_per_node
        )
    except AdviceError as error:
        fail(str(error), code=2)
        raise
    data = advice_json(advice)
    if as_json:
        print_json(data)
        return
    table = Table(
        "core",
        "role",
        "architecture",
        "preset",
        "GPUs",
        "GPUs/replica",
        "experts/GPU",
        "replicas",
        title=f"{gpus} GPUs, {advice.domain}",
    )
    for name, core in data["cores"].items():
        table.add_row(
            name,
            core["role"],
            core["architecture"],
            core["preset"],
            str(core["gpus"]),
            str(core["gpus_per_replica"]),
            str(core["experts_per_gpu"]),
            str(core["replicas"]),
        )
    console.print(table)
    for reason in data["reasons"]:
        console.print(f"- {reason}")
    console.print("\nserve.yaml fragment:")
    console.print(yaml.safe_dump(data["serve_yaml"], sort_keys=False), markup=False)
