"""A wheel from `python -m build`, installed into a scratch venv, imports every sub-package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IMPORT_CHECK = (
    "import platform, twincore.platform, twincore.model_core, twincore.services, twincore.apps;"
    " print(platform.system())"
)


def test_built_wheel_installs_and_imports(tmp_path: Path) -> None:
    source = tmp_path / "src"
    # Build from a copy: the build writes egg-info and build/ next to the sources.
    shutil.copytree(
        REPO_ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "var", "build", "dist", "*.egg-info", ".*cache"
        ),
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("twincore-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"twincore", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "twincore/platform/db/migrations/versions/0001_platform_tables.py" in names
    assert "twincore/platform/db/migrations/script.py.mako" in names

    scratch = tmp_path / "scratch"
    venv.create(scratch, with_pip=True)
    python = scratch / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    for cwd in (tmp_path, REPO_ROOT):  # the repository root must not shadow anything either
        result = subprocess.run(
            [python, "-c", IMPORT_CHECK],
            cwd=cwd,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Linux"
        origin = subprocess.run(
            [python, "-c", "import twincore; print(twincore.__file__)"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert origin.startswith(str(scratch))
