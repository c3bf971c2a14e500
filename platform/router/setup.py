"""Building the router the settings describe: classifier, policy file and cores."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import CoreClient, Router
from twincore.platform.router.rules import load_policy
from twincore.platform.settings import Settings

logger = logging.getLogger(__name__)


def trained_classifier_dir(settings: Settings) -> Path:
    """Where `twincore router train` writes by default."""
    return settings.data_dir / "router" / "classifier"


def classifier_dir(settings: Settings) -> Path | None:
    """The artifact to load: configured, else trained locally, else None (the packaged one)."""
    if settings.router.classifier is not None:
        return settings.router.classifier
    local = trained_classifier_dir(settings)
    return local if (local / "classifier.json").is_file() else None


def build_policy(settings: Settings) -> TwoStagePolicy:
    classifier = TaskClassifier.load(classifier_dir(settings), data_dir=settings.data_dir)
    config = load_policy(settings.router.policy)
    logger.info(
        "routing: classifier %s, policy %s (mode %s, deep threshold %.2f)",
        classifier.version,
        settings.router.policy or "packaged",
        config.mode,
        config.deep_threshold,
    )
    return TwoStagePolicy(config, classifier)


def service_ladder(settings: Settings, service: str) -> Ladder:
    """The escalation ladder the routing policy gives `service`."""
    return load_policy(settings.router.policy).escalation.ladder(service)


def router_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `Router` besides its cores."""
    policy = build_policy(settings)
    return {
        "policy": policy,
        "cooldown_s": settings.gateway.router_cooldown_s,
        "min_mean_logprob": policy.config.cascade.min_mean_logprob,
        "queue_limits": queue_limits(settings),
    }


def queue_limits(settings: Settings) -> dict[str, int]:
    """Requests in flight per core before it counts as busy: what its replicas' engines hold
    (running + waiting, Serve's `max_ongoing_requests` each). Beyond that Ray Serve would queue
    them in the handle with no bound and no answer until the client timed out."""
    limits = {}
    for name, config in (("deep", settings.cores.deep), ("swift", settings.cores.swift)):
        replicas = config.autoscaling.max_replicas if config.autoscaling else config.replicas
        limits[name] = (config.max_running + config.max_waiting) * replicas
    return limits


def build_router(cores: Mapping[str, CoreClient], settings: Settings) -> Router:
    return Router(cores, **router_options(settings))
