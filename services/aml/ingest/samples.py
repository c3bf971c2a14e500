"""The packaged AMLSim samples (IBM/AMLSim `sample/`, Apache-2.0), extracted on first use.

Two 20,000-account samples ship as .tgz files in data/amlsim/: `20K_cycle200` (200 cycle
patterns) and `20K_fanin200` (200 fan-in patterns). `sample_dir(name)` extracts one into a cache
folder and returns the folder holding its nodes.csv and transactions.csv.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "amlsim"
SAMPLE_NAMES = ("20K_cycle200", "20K_fanin200")


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"twincore-amlsim-{os.getuid()}"


def sample_dir(name: str, cache_dir: Path | None = None) -> Path:
    """The extracted folder of a packaged sample (extracted once; safe under parallel callers)."""
    archive = DATA_DIR / f"{name}.tgz"
    if not archive.is_file():
        raise ValueError(f"no AMLSim sample {name!r}; the packaged ones are {list(SAMPLE_NAMES)}")
    cache = cache_dir or default_cache_dir()
    target = cache / name
    if (target / "nodes.csv").is_file() and (target / "transactions.csv").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Extract beside the target and rename into place, so a reader never sees half a sample.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        extracted = staging / name
        if not (extracted / "nodes.csv").is_file():
            raise ValueError(f"{archive.name} holds no {name}/nodes.csv")
        try:
            extracted.rename(target)
        except OSError:
            if not (target / "nodes.csv").is_file():  # not a concurrent winner: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


AMLSIM_TYPOLOGIES = {
    "cycle": "simple_cycle",
    "fan-in": "fan_in",
    "fan-out": "fan_out",
    "gather-scatter": "gather_scatter",
    "scatter-gather": "scatter_gather",
    "bipartite": "bipartite",
    "stack": "stack",
    "random": "random",
}
"""AMLSim's pattern words (metadata.txt) -> the pattern names detection reports."""


def sample_typology(folder: Path) -> str:
    """The typology an AMLSim sample plants, from its metadata.txt ("patterns: 200 cycles" ->
    "simple_cycle", "200 fan-in" -> "fan_in"); "unknown" when the file does not say."""
    meta = folder / "metadata.txt"
    if not meta.is_file():
        return "unknown"
    for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "patterns":
            words = value.split()
            word = words[-1].lower() if words else ""
            return AMLSIM_TYPOLOGIES.get(word, AMLSIM_TYPOLOGIES.get(word[:-1], "unknown"))
    return "unknown"
