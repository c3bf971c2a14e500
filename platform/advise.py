"""The deployment decision tree: GPUs, latency target and domain -> architecture, preset,
expert-parallel layout and replicas per core, with the reason for each choice.

The seed's rules: fewer than 8 GPUs -> the swift core's architecture (Kimi K2 family), more than
32 -> the deep core's (DeepSeek-V3 family), in between each core keeps its own; experts are
spread 8-16 per GPU, so a replica spans `experts / experts_per_gpu` GPUs. Expert counts come from
the presets in model_core/configs, never from constants here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from twincore.model_core.config import load_preset
from twincore.platform.settings import DEFAULT_CORES

CoreName = Literal["deep", "swift"]
DOMAINS = ("aml", "support", "code", "writing", "math", "chat")
# Service names a user may type for the domain they serve.
DOMAIN_ALIASES = {"codegen": "code", "tutor": "math", "tutoring": "math"}
ACCURACY_DOMAINS = frozenset({"aml", "code", "math"})  # vertical, checkable, often offline
REALTIME_LATENCY_MS = 1000.0  # a target under this is interactive: the primary core is swift
TIGHT_LATENCY_MS = 500.0  # under this swift spreads its experts thinner (8 per GPU)
SWIFT_BELOW_GPUS = 8
DEEP_ABOVE_GPUS = 32
MIN_EXPERTS_PER_GPU, MAX_EXPERTS_PER_GPU = 8, 16
CORE_RESOURCE = "twincore_core"  # advertised by the core worker groups in deploy/
CHECKPOINT_ROOT = "/checkpoints"  # the persistent volume of deploy/kuberay/rayservice.yaml

# Members of each family, largest first (names of model_core/configs presets).
FAMILIES: dict[str, tuple[str, ...]] = {
    "kimi-k2": ("kimi-k2", "moonlight-16b-a3b"),
    "deepseek-v3": ("deepseek-v3", "deepseek-v2-lite"),
}
OWN_FAMILY: dict[CoreName, str] = {"deep": "deepseek-v3", "swift": "kimi-k2"}


class AdviceError(ValueError):
    """Inputs the decision tree cannot answer (negative GPUs, unknown domain)."""


@dataclass(frozen=True)
class CorePlan:
    """How one core is laid out on the cluster."""

    core: CoreName
    role: Literal["primary", "secondary"]
    architecture: str  # kimi-k2, deepseek-v3, or dense (the embedded default)
    preset: str
    gpus: int  # GPUs the core gets in total
    gpus_per_replica: int  # expert-parallel degree
    experts: int  # routed experts of the preset
    experts_per_gpu: int
    replicas: int


@dataclass(frozen=True)
class Advice:
    """The decision and its reasons."""

    gpus: int
    latency_ms: float | None
    domain: str
    gpus_per_node: int
    primary: CoreName
    cores: dict[str, CorePlan]
    reasons: list[str] = field(default_factory=list)


def advise(
    *, gpus: int, domain: str, latency_ms: float | None = None, gpus_per_node: int = 8
) -> Advice:
    """Walk the decision tree for a cluster of `gpus` GPUs serving `domain`."""
    if gpus < 0:
        raise AdviceError("--gpus must be 0 or more")
    if gpus_per_node < 1:
        raise AdviceError("--gpus-per-node must be 1 or more")
    if latency_ms is not None and latency_ms <= 0:
        raise AdviceError("--latency-ms must be positive")
    domain = DOMAIN_ALIASES.get(domain.lower(), domain.lower())
    if domain not in DOMAINS:
        raise AdviceError(f"unknown domain {domain!r}; one of {', '.join(DOMAINS)}")
    reasons: list[str] = []
    primary = _primary(domain, latency_ms, reasons)
    families = _families(gpus, reasons)
    shares = _split(gpus, primary, families, reasons)
    tight = latency_ms is not None and latency_ms < TIGHT_LATENCY_MS
    cores = {
        name: _plan(name, primary, families[name], shares[name], tight, gpus_per_node, reasons)
        for name in ("deep", "swift")
    }
    return Advice(gpus, latency_ms, domain, gpus_per_node, primary, cores, reasons)


def _primary(domain: str, latency_ms: float | None, reasons: list[str]) -> CoreName:
    if latency_ms is not None and latency_ms < REALTIME_LATENCY_MS:
        reasons.append(
            f"a {latency_ms:g} ms latency target is interactive (< {REALTIME_LATENCY_MS:g} ms): "
            "swift, the latency-first core, is primary and gets most GPUs"
        )
        return "swift"
    if domain in ACCURACY_DOMAINS:
        reasons.append(f"{domain} is accuracy first (vertical, checkable): deep is primary")
        return "deep"
    reasons.append(f"{domain} is real-time dialogue: swift is primary")
    return "swift"


def _families(gpus: int, reasons: list[str]) -> dict[CoreName, str]:
    if gpus < SWIFT_BELOW_GPUS:
        reasons.append(
            f"{gpus} GPUs (< {SWIFT_BELOW_GPUS}): both cores use the swift core's architecture "
            "(Kimi K2 family), whose small member fits a few GPUs"
        )
        return {"deep": "kimi-k2", "swift": "kimi-k2"}
    if gpus > DEEP_ABOVE_GPUS:
        reasons.append(
            f"{gpus} GPUs (> {DEEP_ABOVE_GPUS}): both cores use the deep core's architecture "
            "(DeepSeek-V3 family); the cluster holds full DeepSeek-V3 replicas"
        )
        return {"deep": "deepseek-v3", "swift": "deepseek-v3"}
    reasons.append(
        f"{gpus} GPUs ({SWIFT_BELOW_GPUS}-{DEEP_ABOVE_GPUS}): each core keeps its own "
        "architecture (deep: DeepSeek-V3, swift: Kimi K2)"
    )
    return dict(OWN_FAMILY)


def _min_gpus(preset: str) -> int:
    """GPUs one replica needs at most 16 experts per GPU."""
    return math.ceil(load_preset(preset).n_routed_experts / MAX_EXPERTS_PER_GPU)


def _split(
    gpus: int, primary: CoreName, families: dict[CoreName, str], reasons: list[str]
) -> dict[CoreName, int]:
    secondary: CoreName = "deep" if primary == "swift" else "swift"
    smallest = _min_gpus(FAMILIES[families[secondary]][-1])
    if gpus < smallest + _min_gpus(FAMILIES[families[primary]][-1]):
        reasons.append(
            f"{gpus} GPUs hold one MoE core at most: all go to {primary}; {secondary} runs its "
            "embedded default model (or a remote endpoint)"
        )
        return {primary: gpus, secondary: 0}
    # The secondary core gets a quarter, at least one replica of its family's small member.
    second = max(gpus // 4, smallest)
    reasons.append(f"GPUs split {gpus - second} to {primary} (primary), {second} to {secondary}")
    return {primary: gpus - second, secondary: second}


def _plan(
    name: CoreName,
    primary: CoreName,
    family: str,
    share: int,
    tight: bool,
    gpus_per_node: int,
    reasons: list[str],
) -> CorePlan:
    role: Literal["primary", "secondary"] = "primary" if name == primary else "secondary"
    fitting = [p for p in FAMILIES[family] if _min_gpus(p) <= share]
    if not fitting:
        default = str(DEFAULT_CORES[name]["model"])
        reasons.append(
            f"{name}: {share} GPUs cannot hold a {family} model at <= {MAX_EXPERTS_PER_GPU} "
            f"experts per GPU: {default} (dense, the embedded default) on CPU"
        )
        return CorePlan(name, role, "dense", default, share, 0, 0, 0, 1)
    # deep wants the largest model that fits; swift the smallest (fewest active parameters).
    preset = fitting[0] if name == "deep" else fitting[-1]
    experts = load_preset(preset).n_routed_experts
    # Thin spreading (8 per GPU) halves each GPU's expert load: swift takes it for tight
    # latency targets when the share allows; otherwise 16 per GPU leaves room for more replicas.
    per_gpu = MAX_EXPERTS_PER_GPU
    if name == "swift" and tight and math.ceil(experts / MIN_EXPERTS_PER_GPU) <= share:
        per_gpu = MIN_EXPERTS_PER_GPU
    degree = math.ceil(experts / per_gpu)
    replicas = share // degree
    nodes = math.ceil(degree / gpus_per_node)
    reasons.append(
        f"{name}: {preset} ({experts} experts) at {per_gpu} experts per GPU spans {degree} GPUs "
        f"({nodes} node{'s' if nodes > 1 else ''}) per replica: {replicas} replica"
        f"{'s' if replicas > 1 else ''} on {share} GPUs"
    )
    return CorePlan(name, role, family, preset, share, degree, experts, per_gpu, replicas)


def serve_fragment(advice: Advice) -> dict[str, Any]:
    """The `applications` entry of deploy/serve.yaml that realises the advice: core args, and
    placement-group bundles for replicas that span more than one node's GPUs."""
    cores: dict[str, Any] = {}
    deployments: list[dict[str, Any]] = []
    for name, plan in advice.cores.items():
        if plan.architecture == "dense":
            cores[name] = {"model": plan.preset, "replicas": plan.replicas}
            continue
        # Placement lives in the `deployments` override below (what Serve applies on update).
        cores[name] = {"model": f"{CHECKPOINT_ROOT}/{plan.preset}", "quantization": "none"}
        per_node = min(plan.gpus_per_replica, advice.gpus_per_node)
        nodes = math.ceil(plan.gpus_per_replica / per_node)
        # The first bundle holds the replica actor; the rest hold its expert-parallel workers.
        first = {"CPU": 1, "GPU": per_node, CORE_RESOURCE: 1}
        bundles = [first] + [{"GPU": per_node}] * (nodes - 1)
        deployments.append(
            {
                "name": name,
                "num_replicas": plan.replicas,
                "ray_actor_options": {
                    "num_cpus": 1,
                    "num_gpus": per_node,
                    "resources": {CORE_RESOURCE: 1},
                },
                "placement_group_bundles": bundles,
                "placement_group_strategy": "PACK",
            }
        )
    app: dict[str, Any] = {
        "name": "twincore",
        "route_prefix": "/",
        "import_path": "twincore.platform.app:build_app",
        "args": {"cores": cores},
    }
    if deployments:
        app["deployments"] = deployments
    return {"applications": [app]}


def advice_json(advice: Advice) -> dict[str, Any]:
    """The advice as JSON-ready data (what `twincore advise --json` prints)."""
    return {
        "inputs": {
            "gpus": advice.gpus,
            "latency_ms": advice.latency_ms,
            "domain": advice.domain,
            "gpus_per_node": advice.gpus_per_node,
        },
        "primary": advice.primary,
        "cores": {
            name: {
                "role": p.role,
                "architecture": p.architecture,
                "preset": p.preset,
                "gpus": p.gpus,
                "gpus_per_replica": p.gpus_per_replica,
                "experts": p.experts,
                "experts_per_gpu": p.experts_per_gpu,
                "replicas": p.replicas,
            }
            for name, p in advice.cores.items()
        },
        "reasons": advice.reasons,
        "serve_yaml": serve_fragment(advice),
    }
