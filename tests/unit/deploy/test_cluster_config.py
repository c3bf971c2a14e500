"""deploy/cluster.yaml: what `ray up` checks (Ray's cluster schema, after its own defaults are
filled in), a head, CPU workers and GPU core workers, and the wheel installed on every node."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_YAML = Path(__file__).resolve().parents[3] / "deploy" / "cluster.yaml"


def load() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(CLUSTER_YAML.read_text())
    return config


def test_cluster_yaml_passes_rays_own_validation() -> None:
    prepared = prepare_config(load())
    validate_config(prepared)
    assert prepared["head_node_type"] == "head"


def test_node_types_pin_cores_to_the_gpu_workers() -> None:
    nodes = load()["available_node_types"]
    assert set(nodes) == {"head", "cpu_worker", "gpu_worker"}
    assert nodes["head"]["resources"] == {"CPU": 0}
    assert nodes["gpu_worker"]["resources"]["twincore_core"] > 0
    assert "twincore_core" not in nodes["cpu_worker"]["resources"]


def test_every_node_installs_the_locked_environment_and_the_wheel() -> None:
    config = load()
    commands = " && ".join(config["setup_commands"])
    assert "-r ~/twincore/lock.txt" in commands and "--no-deps" in commands
    assert "twincore/wheels/twincore-*.whl" in commands
    assert config["file_mounts"]["~/twincore/wheels"] == "./dist"
    # Secrets come from the operator's file, sourced before Ray starts, never from this file.
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    assert all(". /etc/twincore/cluster.env" in c for c in starts if "ray start" in c)
    assert "SECRET_KEY=" not in CLUSTER_YAML.read_text()


def test_a_broken_cluster_config_is_refused() -> None:
    broken = copy.deepcopy(load())
    broken["available_node_types"]["gpu_worker"]["min_worker"] = 1  # misspelt
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(broken))
