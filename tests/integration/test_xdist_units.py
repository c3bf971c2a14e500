"""The CI run's scheduling: every heavy file runs on one xdist worker, each other file on one.

Two heavy files at once overflow the CI machine's memory, and a run that does so hangs until
the CI budget ends, so the grouping is checked by running pytest itself (plan only, no tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.conftest import HEAVY_FILES, REPO_ROOT

RECORDER = """
import os
def pytest_runtest_setup(item):
    with open(os.environ["UNITS_OUT"], "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + " " + item.nodeid + "\\n")
"""


def test_heavy_files_share_one_worker_and_each_file_stays_on_one(tmp_path: Path) -> None:
    (tmp_path / "units_recorder.py").write_text(RECORDER)
    out = tmp_path / "units.txt"
    light = ["tests/unit/model_core/test_fuse.py", "tests/unit/model_core/test_quant.py"]
    command = [sys.executable, "-m", "pytest", "-p", "units_recorder", "-n", "2"]
    command += ["--dist", "loadgroup", "--setup-plan", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, *sorted(HEAVY_FILES), *light],
        cwd=REPO_ROOT,
        env={**_environ(), "PYTHONPATH": str(tmp_path), "UNITS_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    workers: dict[str, set[str]] = defaultdict(set)
    for line in out.read_text().splitlines():
        worker, nodeid = line.split(" ", 1)
        path = nodeid.split("::", 1)[0]
        workers["heavy" if path in HEAVY_FILES else path].add(worker)
    assert set(workers) == {"heavy", *light}
    assert all(len(seen) == 1 for seen in workers.values()), dict(workers)


def _environ() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "PYTEST_XDIST_WORKER"}
