"""`twincore advise`: the seed's decision tree (GPU thresholds, 8-16 experts per GPU, latency
and domain), its reasons, and a serve.yaml fragment that Ray and the settings accept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ray.serve.schema import ServeDeploySchema
from typer.testing import CliRunner

from twincore.model_core.config import load_preset
from twincore.platform.advise import advice_json, advise
from twincore.platform.cli.main import app
from twincore.platform.settings import Settings

runner = CliRunner()


def run_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["advise", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_four_gpus_realtime_support_gets_the_swift_architecture() -> None:
    data = run_json("--gpus", "4", "--latency-ms", "300", "--domain", "support")
    swift, deep = data["cores"]["swift"], data["cores"]["deep"]
    assert data["primary"] == "swift"
    assert swift["architecture"] == "kimi-k2" and swift["preset"] == "moonlight-16b-a3b"
    assert swift["experts_per_gpu"] == 16 and swift["gpus_per_replica"] == 4
    assert swift["replicas"] == 1
    # No GPU is left for a second MoE model: deep runs its dense default.
    assert deep["architecture"] == "dense" and deep["replicas"] == 1
    reasons = " ".join(data["reasons"])
    assert "300 ms" in reasons and "(< 8)" in reasons


def test_sixty_four_gpus_aml_gets_the_deep_architecture() -> None:
    data = run_json("--gpus", "64", "--domain", "aml")
    deep, swift = data["cores"]["deep"], data["cores"]["swift"]
    assert data["primary"] == "deep"
    assert deep["architecture"] == swift["architecture"] == "deepseek-v3"
    assert deep["preset"] == "deepseek-v3"
    assert deep["experts_per_gpu"] * deep["gpus_per_replica"] == 256
    assert deep["gpus"] + swift["gpus"] == 64 and deep["gpus"] > swift["gpus"]
    assert deep["replicas"] == deep["gpus"] // deep["gpus_per_replica"] >= 2
    assert "(> 32)" in " ".join(data["reasons"]) and "aml is accuracy first" in data["reasons"][0]


@pytest.mark.parametrize(
    ("gpus", "families"),
    [
        (7, {"kimi-k2"}),
        (8, {"deepseek-v3", "kimi-k2"}),
        (32, {"deepseek-v3", "kimi-k2"}),
        (33, {"deepseek-v3"}),
    ],
)
def test_gpu_thresholds_pick_the_family(gpus: int, families: set[str]) -> None:
    advice = advise(gpus=gpus, domain="code")
    found = {c.architecture for c in advice.cores.values()} - {"dense"}
    assert found == families


@pytest.mark.parametrize("gpus", [4, 8, 12, 16, 24, 32, 48, 64, 128, 512])
@pytest.mark.parametrize("domain", ["aml", "support", "code", "writing", "math", "chat"])
def test_experts_are_spread_eight_to_sixteen_per_gpu(gpus: int, domain: str) -> None:
    advice = advise(gpus=gpus, domain=domain)
    used = 0
    for plan in advice.cores.values():
        if plan.architecture == "dense":
            continue
        assert 8 <= plan.experts_per_gpu <= 16
        assert plan.experts == load_preset(plan.preset).n_routed_experts
        assert plan.experts_per_gpu * plan.gpus_per_replica >= plan.experts
        assert plan.replicas >= 1
        used += plan.replicas * plan.gpus_per_replica
    assert used <= gpus


def test_more_gpus_give_more_replicas() -> None:
    small, large = advise(gpus=64, domain="aml"), advise(gpus=512, domain="aml")
    assert large.cores["deep"].replicas > small.cores["deep"].replicas


def test_a_tight_latency_target_spreads_swift_thinner() -> None:
    relaxed = advise(gpus=32, domain="support")
    tight = advise(gpus=32, domain="support", latency_ms=200)
    assert relaxed.cores["swift"].experts_per_gpu == 16
    assert tight.cores["swift"].experts_per_gpu == 8


def test_latency_target_makes_swift_primary_even_for_aml() -> None:
    assert advise(gpus=16, domain="aml").primary == "deep"
    assert advise(gpus=16, domain="aml", latency_ms=300).primary == "swift"


@pytest.mark.parametrize(("gpus", "domain"), [(4, "support"), (16, "math"), (64, "aml")])
def test_the_serve_fragment_is_a_valid_serve_config(gpus: int, domain: str) -> None:
    fragment = advice_json(advise(gpus=gpus, domain=domain))["serve_yaml"]
    schema = ServeDeploySchema.model_validate(fragment)
    (application,) = schema.applications
    Settings(**application.args)  # the args are valid settings
    for deployment in application.deployments:
        bundles = deployment.placement_group_bundles
        assert bundles and bundles[0]["twincore_core"] == 1
        total = sum(b["GPU"] for b in bundles)
        core = advise(gpus=gpus, domain=domain).cores[deployment.name]
        assert total == core.gpus_per_replica and deployment.num_replicas == core.replicas


def test_table_output_and_bad_input() -> None:
    result = runner.invoke(app, ["advise", "--gpus", "16", "--domain", "codegen"])
    assert result.exit_code == 0, result.output
    assert "serve.yaml fragment" in result.stdout and "deepseek" in result.stdout
    for args, message in (
        (["--gpus", "-1", "--domain", "aml"], "--gpus"),
        (["--gpus", "8", "--domain", "poetry"], "unknown domain"),
        (["--gpus", "8", "--domain", "aml", "--latency-ms", "0"], "positive"),
    ):
        refused = runner.invoke(app, ["advise", *args])
        assert refused.exit_code == 2 and message in refused.stderr
