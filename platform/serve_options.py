"""Ray Serve deployment options (replicas, autoscaling, resources) from the settings blocks,
and the CPU reservations and process limits of the gateway, router and services."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twincore.platform.settings import AutoscalingConfig, CoreConfig, Settings


def scaling_options(replicas: int, autoscaling: AutoscalingConfig | None) -> dict[str, Any]:
    """Fixed replicas, or an autoscaling config (Serve refuses both at once)."""
    if autoscaling is None:
        return {"num_replicas": replicas}
    return {"autoscaling_config": autoscaling.model_dump()}


def core_actor_options(config: CoreConfig) -> dict[str, Any]:
    """What one core replica reserves; custom resources and the accelerator type pin it to the
    nodes that have them (the core worker groups of deploy/)."""
    options: dict[str, Any] = {"num_cpus": config.replica_cpus(), "num_gpus": config.num_gpus}
    if config.resources:
        options["resources"] = dict(config.resources)
    if config.accelerator_type:
        options["accelerator_type"] = config.accelerator_type
    return options


def core_options(config: CoreConfig) -> dict[str, Any]:
    """`Deployment.options(...)` of one core (its name is set by the caller)."""
    return {
        **scaling_options(config.replicas, config.autoscaling),
        "ray_actor_options": core_actor_options(config),
        "max_ongoing_requests": config.max_running + config.max_waiting,
    }


# CPU reservations of the light deployments (Ray logical CPUs per replica). They keep Ray from
# packing more work on a node than it can run; the cores' own reservations are their settings.
# Together (one gateway, five services) 0.7: they fit beside the cores on a 2-CPU laptop once
# the launcher counts them, and on deploy/'s 1-CPU head node.
GATEWAY_CPUS = 0.25  # HTTP parsing, JSON, Gradio pages for every request
ROUTER_CPUS = 0.0  # forwards handles, waits on cores
SERVICE_CPUS = 0.05  # services wait on the cores and the database
BATCH_SERVICE_CPUS = {"aml": 0.25}  # detection scores whole uploads (LightGBM, pandas)
# Batch work runs below the cores' priority (cores.py: CORE_NICENESS 10) and on one thread, so a
# large AML upload slows down itself, not the cores' decode loops on the same node.
BATCH_NICE = 15
BATCH_THREADS = 1
NICE_ENV = "TWINCORE_PROCESS_NICE"
THREAD_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_MAX_THREADS")


def gateway_actor_options() -> dict[str, Any]:
    return {"num_cpus": GATEWAY_CPUS}


def router_actor_options() -> dict[str, Any]:
    return {"num_cpus": ROUTER_CPUS}


def service_actor_options(name: str) -> dict[str, Any]:
    """What the replica of service `name` reserves; batch services also get a lower OS priority
    and thread caps, set in their worker's environment before any library starts its pools."""
    if name not in BATCH_SERVICE_CPUS:
        return {"num_cpus": SERVICE_CPUS}
    env = {variable: str(BATCH_THREADS) for variable in THREAD_ENVS}
    env[NICE_ENV] = str(BATCH_NICE)
    return {"num_cpus": BATCH_SERVICE_CPUS[name], "runtime_env": {"env_vars": env}}


def light_cpus(service_names: Iterable[str], gateway_replicas: int) -> float:
    """Logical CPUs the gateway, router and services reserve together."""
    services = sum(BATCH_SERVICE_CPUS.get(name, SERVICE_CPUS) for name in service_names)
    return gateway_replicas * GATEWAY_CPUS + ROUTER_CPUS + services


def lower_process_priority(niceness: int | None = None) -> int | None:
    """Lower every thread of this process to `niceness` (default: `TWINCORE_PROCESS_NICE`;
    Linux priorities are per thread; threads started later inherit their creator's). Returns
    the niceness, or None when there is none to apply."""
    if niceness is None:
        wanted = os.environ.get(NICE_ENV)
        if not wanted:
            return None
        niceness = int(wanted)
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():  # not Linux: leave the priority alone
        return None
    for task in tasks.iterdir():
        with contextlib.suppress(OSError):  # a thread may have ended meanwhile
            current = os.getpriority(os.PRIO_PROCESS, int(task.name))
            os.setpriority(os.PRIO_PROCESS, int(task.name), max(current, niceness))
    return niceness


def light_cpus_needed(settings: Settings) -> float:
    """What `light_cpus` comes to for these settings and the registered services, so a local
    cluster advertises enough logical CPUs for the cores and everything around them."""
    from importlib.metadata import entry_points

    from twincore.platform.components import ENTRY_POINT_GROUP

    gateway = settings.gateway
    replicas = gateway.autoscaling.min_replicas if gateway.autoscaling else gateway.replicas
    names = [point.name for point in entry_points(group=ENTRY_POINT_GROUP)]
    return light_cpus(names, replicas)
