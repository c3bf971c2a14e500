"""`twincore eval ...`: evaluations on the default weights (commands, not tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli import eval_writing
from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json

app = typer.Typer(help="Evaluations that print JSON.", no_args_is_help=True)
app.command("writing")(eval_writing.writing)


@app.command("codegen")
def codegen(
    problems: Annotated[
        str, typer.Option(help="HumanEval-format JSONL, or a shipped set: humaneval, java, cpp")
    ] = "humaneval",
    samples: Annotated[int, typer.Option(min=1, help="candidates per problem (n)")] = 1,
    k: Annotated[str, typer.Option(help="comma-separated k of pass@k")] = "1,10",
    solutions: Annotated[
        str, typer.Option(help="generate | canonical | empty (the problems' own solutions)")
    ] = "generate",
    model: Annotated[str, typer.Option(help="deep | swift | auto")] = "deep",
    rounds: Annotated[int, typer.Option(min=0, help="repair rounds from the sandbox log")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="first N problems only; 0: all")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="sandbox runs at once")] = 2,
    rescore: Annotated[
        Path | None, typer.Option(help="check the code an earlier report recorded (no model)")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """pass@k of generated code (or of the problems' own solutions) through the sandbox."""
    from twincore.services.codegen.evaluate import evaluate, resolve_problems, save_report

    if solutions not in ("generate", "canonical", "empty"):
        fail(f"--solutions must be generate, canonical or empty, not {solutions!r}", code=2)
    if rescore is not None and not rescore.is_file():
        fail(f"no report at {rescore}", code=2)
    try:
        ks = sorted({int(part) for part in k.split(",") if part.strip()})
        loaded = resolve_problems(problems, limit or None)
    except ValueError as error:
        fail(str(error), code=2)
        return
    settings = load_settings()
    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task(f"codegen ({solutions})", total=len(loaded))
            report = evaluate(
                settings,
                loaded,
                solutions=solutions,  # type: ignore[arg-type]
                samples=samples,
                ks=ks,
                model=model,
                rounds=rounds,
                workers=workers,
                on_done=lambda: progress.advance(bar),
                include_code=solutions == "generate",
                recorded=rescore,
            )
    except ValueError as error:
        fail(str(error), code=2)
        return
    name = f"{Path(problems).stem}-{solutions}" + (f"-{model}" if solutions == "generate" else "")
    name += "-rescored" if rescore else ""
    path = save_report(settings, name, report)
    if json_output:
        print_json(report)
        return
    table = Table("task", "language", "passed", "statuses", "reason")
    for row in report["per_problem"]:
        table.add_row(
            row["task_id"],
            row["language"],
            f"{row['passed']}/{row['samples']}",
            ",".join(row["statuses"]),
            row["reason"][:60],
        )
    console.print(table)
    scores = "  ".join(f"{key} {v}" for key, v in report.items() if key.startswith("pass_at_"))
    console.print(
        f"{report['problems']} problems  {scores}  wall {report['wall_s']}s\nsaved to {path}"
    )


@app.command("router")
def router(
    per_group: Annotated[
        int, typer.Option(min=0, help="tasks per group (math/code, easy/hard); 0: all shipped")
    ] = 20,
    seed: Annotated[int, typer.Option(help="which tasks a smaller run picks")] = 0,
    answers: Annotated[
        Path | None,
        typer.Option(help="re-score the answers an earlier run recorded (no generation)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Answer verifiable math and code tasks on both cores; compare always-swift, always-deep,
    random at matched cost, the router over deep thresholds and a cascade; report APGR."""
    from twincore.platform.evals.runner import run, save_report
    from twincore.platform.evals.tasks import load_workload

    settings = load_settings()
    if answers is not None and not answers.is_file():
        fail(f"no recorded answers at {answers}", code=2)
    total = 0 if answers else 2 * len(load_workload(per_group=per_group or None, seed=seed))
    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task("answering (swift, then deep)", total=total)
            report = run(
                settings,
                per_group=per_group or None,
                seed=seed,
                on_answer=lambda core: progress.advance(bar),
                recorded=answers,
            )
    except ValueError as error:
        fail(str(error), code=2)
        return
    path = save_report(settings, report)
    if json_output:
        print_json(report)
        return
    table = Table("strategy", "quality", "cost", "deep share", "wall s")
    for s in report["strategies"]:
        table.add_row(
            s["name"],
            f"{s['quality']:.3f}",
            f"{s['cost']:.2f}",
            f"{s['deep_share']:.2f}",
            f"{s['wall_s']:.1f}",
        )
    console.print(table)
    console.print(
        f"APGR {report['apgr']}  router beats random: {report['router_beats_random']}  "
        f"deep share for 50%/80% of the gain: {report.get('deep_share_for_50')}/"
        f"{report.get('deep_share_for_80')}\nsaved to {path}"
    )


@app.command("aml")
def aml(
    train: Annotated[
        list[Path], typer.Option("--train", help="labelled training folder; repeat for more")
    ],
    test: Annotated[Path, typer.Option("--test", help="labelled folder to score")],
    level: Annotated[
        str | None, typer.Option(help="account or transaction; default: from the test labels")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Train the AML risk model on --train, detect on --test: precision, recall, F1 at the
    model's own threshold, and recall per typology."""
    from twincore.services.aml.evaluation import evaluate

    if level not in (None, "account", "transaction"):
        fail(f"--level must be account or transaction, not {level!r}", code=2)
    try:
        with err_console.status("evaluating ...") as status:
            report = evaluate(
                train,
                test,
                level="transaction" if level == "transaction" else "account" if level else None,
                on_stage=lambda stage: status.update(f"AML eval: {stage} ..."),
            )
    except ValueError as error:  # a malformed or unlabelled dataset, with the reason
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


@app.command("tutor")
def tutor(
    part: Annotated[str, typer.Option(help="symbolic, step-check, gsm8k or all")] = "all",
    seed: Annotated[int, typer.Option(help="seed of the generated symbolic suite")] = 11,
    gsm8k: Annotated[
        Path | None, typer.Option("--gsm8k", help="GSM8K-format JSONL; default: the shipped file")
    ] = None,
    core: Annotated[str, typer.Option(help="GSM8K cores: swift, deep or both")] = "both",
    mode: Annotated[str, typer.Option(help="GSM8K modes: pal, direct or both")] = "both",
    limit: Annotated[int, typer.Option(min=0, help="first N GSM8K problems; 0: all")] = 10,
    candidates: Annotated[int, typer.Option(min=1, max=8, help="GSM8K votes per problem")] = 1,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Tutor: symbolic_accuracy on the generated suite (every step verified),
    step_check_accuracy (first wrong step) on the shipped step-check suite, and
    gsm8k_accuracy (overall and per core/mode, program-aided vs direct) on GSM8K."""
    from twincore.services.tutor.evaluation import PARTS, run_tutor_eval
    from twincore.services.tutor.gsm8k_eval import GsmOptions

    if part not in PARTS:
        fail(f"--part must be one of {', '.join(PARTS)}, not {part!r}", code=2)
    if core not in ("swift", "deep", "both") or mode not in ("pal", "direct", "both"):
        fail("--core must be swift, deep or both; --mode pal, direct or both", code=2)
    if gsm8k is not None and not gsm8k.is_file():
        fail(f"no GSM8K file at {gsm8k}", code=2)
    options = GsmOptions(
        path=gsm8k,
        cores=("swift", "deep") if core == "both" else (core,),
        modes=("pal", "direct") if mode == "both" else (mode,),  # type: ignore[arg-type]
        limit=limit or None,
        candidates=candidates,
    )
    needs_cores = part in ("gsm8k", "all")
    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task(f"tutor eval ({part})", total=None)
            report = run_tutor_eval(
                part,
                seed,
                on_total=lambda total: progress.update(bar, total=total),
                on_done=lambda: progress.advance(bar),
                gsm8k=options,
                settings=load_settings() if needs_cores else None,
            )
    except ValueError as error:  # a malformed GSM8K file, with its line and reason
        fail(str(error), code=2)
        return
    if json_output:
        print_json(report)
        return
    table = Table("metric", "value", title=f"tutor eval ({part})")
    for key, value in report.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
        elif isinstance(value, int):
            table.add_row(key, str(value))
    for name, accuracy in report.get("gsm8k_accuracy_by_run", {}).items():
        table.add_row(f"gsm8k_accuracy {name}", f"{accuracy:.4f}")
    console.print(table)
    for failure in report.get("symbolic_failures", []) + report.get("step_check_failures", []):
        console.print(f"[red]failed[/red] {failure}")


# `eval support` lives in its own module; registered here so it sits with the other evals.
from twincore.platform.cli.eval_support import support as _support  # noqa: E402

app.command("support")(_support)
