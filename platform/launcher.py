"""Starting and stopping Ray for the CLI: a private local cluster, or an existing one.

A local cluster is started with `address="local"` (never a stale cluster file) and is shut down
on exit, Ctrl-C or SIGTERM, so no Ray process outlives the command; the embedded graph daemon
its replicas started (which Ray's kill skips) is stopped after it. What a killed run left is
stopped before the next local cluster starts (see `cleanup`).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from twincore.platform.cleanup import (
    RunRecord,
    clean_after_stop,
    clean_before_start,
    write_run_record,
)
from twincore.platform.serve_options import light_cpus_needed
from twincore.platform.settings import CoreConfig, Settings

logger = logging.getLogger(__name__)

# The local cluster's shared-memory object store only carries request and response objects.
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20


def _replicas(core: CoreConfig) -> int:
    return core.autoscaling.min_replicas if core.autoscaling else core.replicas


def cpus_needed(settings: Settings) -> int:
    """Logical CPUs the cores reserve; a laptop cluster advertises at least this many."""
    cores = (settings.cores.deep, settings.cores.swift)
    return math.ceil(sum(_replicas(c) * c.replica_cpus() for c in cores))


def resources_needed(settings: Settings) -> dict[str, float]:
    """Custom resources the cores reserve (the node pins of deploy/serve.yaml): a one-node
    cluster advertises them so the same config also runs on a laptop."""
    needed: dict[str, float] = {}
    for core in (settings.cores.deep, settings.cores.swift):
        for name, amount in core.resources.items():
            needed[name] = needed.get(name, 0.0) + amount * max(_replicas(core), 1)
    return needed


@contextmanager
def ray_cluster(
    settings: Settings,
    *,
    address: str | None = None,
    dashboard: bool = False,
    serving: Sequence[Settings] = (),
) -> Iterator[None]:
    """Connect to `address`, or start a private local cluster sized for `serving` (default: the
    settings themselves); leave it as found on exit."""
    import ray

    # Local clusters need no token between their own processes, and nothing phones home.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    apps = serving or (settings,)
    record: RunRecord | None = None
    if address:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    else:
        clean_before_start(settings, apps)
        resources: dict[str, float] = {}
        for app in apps:
            for name, amount in resources_needed(app).items():
                resources[name] = resources.get(name, 0.0) + amount
        ray.init(
            address="local",
            # The gateway, router and services reserve CPUs too (serve_options.py): without
            # them a 2-CPU laptop, whose two cores take both, could never place the services.
            num_cpus=max(
                os.cpu_count() or 1,
                sum(cpus_needed(app) + math.ceil(light_cpus_needed(app)) for app in apps),
            ),
            resources=resources or None,
            include_dashboard=dashboard,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        record = write_run_record(settings.data_dir, _session_dir())
    try:
        # After ray.init: it installs its own SIGTERM handler, which aborts the process.
        with _stop_on_signals():
            yield
    finally:
        if not address:
            from ray import serve

            serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()
        if record is not None:
            clean_after_stop(record, apps)


def _session_dir() -> str:
    """This driver's Ray session directory (`/tmp/ray/session_<time>_<pid>`)."""
    import ray

    # Ray keeps the node in a private module global (typed as its initial None).
    node: Any = ray._private.worker._global_node
    return str(node.get_session_dir_path())


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so `finally` blocks shut Ray down on either.
    SIGINT is set explicitly: a process started in the background may inherit it ignored."""

    def raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_forever() -> None:
    """Block until Ctrl-C or SIGTERM (as KeyboardInterrupt)."""
    threading.Event().wait()
