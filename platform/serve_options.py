"""Ray Serve deployment options (replicas, autoscaling, resources) from the settings blocks."""

from __future__ import annotations

from typing import Any

from twincore.platform.settings import AutoscalingConfig, CoreConfig


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
