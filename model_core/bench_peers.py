"""The peers `twincore bench engine` measures beside our engine: llama.cpp, run from `.peers/`.

`make bench-peers` builds llama-cpp-python (requirements/peers.txt) into its own venv,
`.peers/venv`, never into the project's: it compiles for minutes and is no dependency of
Twincore. The benchmark runs llama.cpp in a subprocess with that venv's Python (see
bench_llamacpp_worker.py), so llama.cpp's threads and memory never share a process with ours.
`TWINCORE_PEERS_DIR` names another folder holding such a venv.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PEERS_DIR_ENV = "TWINCORE_PEERS_DIR"
WORKER = Path(__file__).resolve().with_name("bench_llamacpp_worker.py")
TIMEOUT_S = 900.0
"""One llama.cpp measurement: loading a 1.5B GGUF and three 128-token runs take under a minute."""


@dataclass(frozen=True)
class PeerResult:
    """A peer's figures, or why there are none (`figures` None and `reason` set)."""

    figures: dict[str, Any] | None
    reason: str | None = None


def peers_python() -> Path | None:
    """The Python of the peers venv with llama_cpp installed, or None when there is none."""
    for folder in _candidate_dirs():
        python = folder / "venv" / "bin" / "python"
        if python.is_file() and any(folder.glob("venv/lib/python*/site-packages/llama_cpp")):
            return python
    return None


def _candidate_dirs() -> list[Path]:
    if os.environ.get(PEERS_DIR_ENV):
        return [Path(os.environ[PEERS_DIR_ENV])]
    # The repository root (model_core/ sits in it), then the working directory.
    return [WORKER.parent.parent / ".peers", Path.cwd() / ".peers"]


def llamacpp_rates(
    gguf: Path | None, *, prompt: list[int], threads: int, new_tokens: int, repeats: int
) -> PeerResult:
    """llama.cpp's batch-1 greedy decode rate on `gguf` (see bench_llamacpp_worker.measure)."""
    if gguf is None:
        return PeerResult(None, "no GGUF file: llama.cpp runs GGUF models only")
    python = peers_python()
    if python is None:
        return PeerResult(None, "llama.cpp is not built: run `make bench-peers` (.peers/venv)")
    command = [
        str(python), "-I", str(WORKER), str(gguf), "--threads", str(threads),
        "--tokens", str(new_tokens), "--repeats", str(repeats),
        "--prompt", ",".join(str(t) for t in prompt),
    ]  # fmt: skip
    try:
        done = subprocess.run(  # noqa: S603 - our own worker and argument list, no shell
            command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return PeerResult(None, f"llama.cpp did not finish within {TIMEOUT_S:.0f} s")
    if done.returncode != 0:
        logger.warning("llama.cpp worker failed (%d): %s", done.returncode, done.stderr)
        how = (
            f"was killed by {_signal_name(-done.returncode)}"
            if done.returncode < 0
            else f"exited {done.returncode}"
        )
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return PeerResult(None, f"llama.cpp worker {how}" + (f": {tail}" if tail else ""))
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return PeerResult(figures)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
