"""`twincore bench load`: simulated users on a running gateway (locust, in its own process)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, fail, print_json


def load(
    users: Annotated[int, typer.Option(min=1, help="concurrent simulated users")] = 20,
    minutes: Annotated[float, typer.Option(min=0.05, help="run time in minutes")] = 10.0,
    spawn_rate: Annotated[
        float | None, typer.Option(min=0.01, help="users started per second (default: users/10)")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="gateway base URL (default: this machine's settings)")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="TWINCORE_API_KEY", help="API key sent as Bearer")
    ] = None,
    model_tasks: Annotated[
        bool, typer.Option(help="include the requests a core answers (chat, compose)")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A realistic mix of all five services and the OpenAI API through the gateway, with
    ramp-up and 1-3 s think time: per-endpoint p50/p95/p99, throughput, errors by status and
    the back-pressure (429/503, Retry-After) and queue depth it met."""
    from twincore.platform.bench_load import LoadPlan, run_load

    if url is None:
        gateway = load_settings().gateway
        host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host  # noqa: S104
        url = f"http://{host}:{gateway.port}"
    plan = LoadPlan(
        url=url, users=users, minutes=minutes, spawn_rate=spawn_rate or max(users / 10, 0.1),
        api_key=api_key, model_tasks=model_tasks,
    )  # fmt: skip
    with console.status(f"{users} users on {url} for {minutes:g} min (locust) ..."):
        try:
            report = run_load(plan)
        except RuntimeError as error:
            fail(str(error), code=1)
            raise
    if json_output:
        print_json(report)
        return
    _print_table(report)


def _print_table(report: dict[str, Any]) -> None:
    table = Table("endpoint", "requests", "errors", "429/503", "p50 ms", "p95 ms", "p99 ms")
    for name, e in report["endpoints"].items():
        table.add_row(
            name, str(e["requests"]), str(e["errors"]), str(e["backpressure"]),
            *(_ms(e[k]) for k in ("p50_ms", "p95_ms", "p99_ms")),
        )  # fmt: skip
    console.print(table)
    pressure, queue = report["backpressure"], report["queue"]
    console.print(
        f"{report['requests']} requests, {report['throughput_rps']} req/s, "
        f"{report['errors']} errors{_statuses(report['error_statuses'])}; "
        f"back-pressure {pressure['requests']}{_statuses(pressure['statuses'])} "
        f"({pressure['retry_after']} with Retry-After); non-model p95 "
        f"{_ms(report['non_model_p95_ms'])} ms; queue depth max "
        f"{queue['max_depth'] if queue['exposed'] else 'not exposed'}"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _statuses(counts: dict[str, int]) -> str:
    return f" ({', '.join(f'{n}x {s}' for s, n in counts.items())})" if counts else ""
