"""The package layout: one import package `twincore`; the stdlib `platform` is never shadowed."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("platform", "model_core", "services", "apps")
IMPORT_CHECK = (
    "import platform, twincore.platform, twincore.model_core, twincore.services, twincore.apps;"
    " print(platform.system())"
)


def test_stdlib_platform_wins_from_the_repository_root() -> None:
    # From the root the cwd is first on sys.path: a platform/__init__.py there would shadow
    # the standard library for Ray, torch and Gradio.
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linux"
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


@pytest.mark.parametrize("name", ["platform", "services", "apps", "model_core"])
def test_no_top_level_imports_outside_the_repository(name: str, tmp_path: Path) -> None:
    code = f"import importlib.util as u, sys; m = u.find_spec({name!r}); print(m and m.origin)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    origin = result.stdout.strip()
    if name == "platform":
        assert origin.endswith("platform.py") and str(REPO_ROOT) not in origin
    else:
        assert origin == "None"


# Locust imports this load-test file in a process of its own; importing locust patches threading
# with gevent, which would break the test worker that imported it (xdist's queue blocks forever).
OWN_PROCESS = {"twincore.platform.bench_load_users"}


def _modules(subpackage: str) -> list[str]:
    base = REPO_ROOT / subpackage
    names = []
    for path in sorted(base.rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).with_suffix("")
        if "migrations" in relative.parts:  # Alembic scripts run only inside Alembic
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        names.append("twincore." + ".".join(parts))
    return [name for name in names if name not in OWN_PROCESS]


@pytest.mark.parametrize("module", [m for s in SUBPACKAGES for m in _modules(s)])
def test_every_module_imports_as_part_of_twincore(module: str) -> None:
    importlib.import_module(module)


@pytest.mark.parametrize("module", sorted(OWN_PROCESS))
def test_a_module_run_by_another_tool_imports_in_a_process_of_its_own(module: str) -> None:
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, capture_output=True)


def test_sources_are_linked_into_the_package() -> None:
    for name in SUBPACKAGES:
        link = REPO_ROOT / "src" / "twincore" / name
        assert link.is_symlink()
        assert link.resolve() == (REPO_ROOT / name).resolve()
