"""The layers stay apart: platform/ never imports a service, and no service imports another.

Walks every module's import statements (top-level and inside functions) with `ast`, so a lazy
import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import twincore

ROOT = Path(twincore.__file__).resolve().parent


def _imports(path: Path, package: str) -> set[str]:
    """The absolute names `path` imports (relative imports resolved against `package`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: str) -> list[tuple[str, Path]]:
    found = []
    for path in sorted((ROOT / folder).resolve().rglob("*.py")):
        relative = path.relative_to((ROOT / folder).resolve()).with_suffix("")
        found.append((".".join(("twincore", folder, *relative.parts)), path))
    return found


def _edges(folder: str) -> list[tuple[str, str]]:
    edges = []
    for module, path in _modules(folder):
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        edges.extend((module, name) for name in sorted(_imports(path, package)))
    return edges


def test_the_walk_sees_imports() -> None:
    # Guards the test itself: a walk that found nothing would pass any tree.
    edges = _edges("services")
    assert ("twincore.services.aml.component", "twincore.platform.components") in edges
    assert len(_modules("platform")) > 50


def test_platform_imports_no_service() -> None:
    bad = [(a, b) for a, b in _edges("platform") if b.startswith("twincore.services")]
    assert bad == [], "platform -> services edges:\n" + "\n".join(f"{a} -> {b}" for a, b in bad)


def test_model_core_imports_neither_platform_nor_services() -> None:
    bad = [
        (a, b)
        for a, b in _edges("model_core")
        if b.startswith(("twincore.services", "twincore.platform", "twincore.apps"))
    ]
    assert bad == [], "\n".join(f"{a} -> {b}" for a, b in bad)


@pytest.mark.parametrize(
    "service", sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
)
def test_a_service_imports_no_other_service(service: str) -> None:
    own = f"twincore.services.{service}"
    bad = [
        (a, b)
        for a, b in _edges("services")
        if a.startswith(own + ".") or a == own
        if b.startswith("twincore.services.") and not (b == own or b.startswith(own + "."))
    ]
    assert bad == [], "\n".join(f"{a} -> {b}" for a, b in bad)
