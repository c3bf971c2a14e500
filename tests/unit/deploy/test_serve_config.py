"""deploy/serve.yaml: valid for Ray's own Serve schema, its args valid settings, and the
application it builds pins the cores to core nodes with the declared autoscaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ray.serve._private.build_app import build_app as build_serve_app
from ray.serve.schema import ServeDeploySchema
from typer.testing import CliRunner

from twincore.platform.app import build_app
from twincore.platform.cli.main import app as cli
from twincore.platform.launcher import cpus_needed, resources_needed
from twincore.platform.serve_config import ServeConfigError, read_serve_config, twincore_settings

SERVE_YAML = Path(__file__).resolve().parents[3] / "deploy" / "serve.yaml"


def deployments(args: dict[str, Any]) -> dict[str, Any]:
    built = build_serve_app(build_app(args), name="twincore")
    return {d.name: d for d in built.deployments}


def test_serve_yaml_is_a_valid_ray_serve_config() -> None:
    schema = read_serve_config(SERVE_YAML)
    assert isinstance(schema, ServeDeploySchema)
    (application,) = schema.applications
    assert application.import_path == "twincore.platform.app:build_app"
    settings = twincore_settings(schema)[0]
    assert settings.cores.deep.model == "qwen2.5-coder-1.5b-instruct"
    assert settings.gateway.autoscaling is not None


def test_the_built_app_pins_cores_and_autoscales() -> None:
    args = read_serve_config(SERVE_YAML).applications[0].args
    built = deployments(args)
    assert {"deep", "swift", "router", "gateway"} <= set(built)
    for core in ("deep", "swift"):
        options = built[core].ray_actor_options
        assert options["resources"] == {"twincore_core": 1}
        assert options["num_cpus"] == args["cores"][core]["num_cpus"]
        scaling = built[core]._deployment_config.autoscaling_config
        assert scaling.max_replicas == args["cores"][core]["autoscaling"]["max_replicas"]
    # Router, gateway and services need no core resource, so they may run on any node (the
    # head included); their CPU reservations are small and AML, the batch one, runs niced.
    for light in ("router", "gateway", "service-aml", "service-support"):
        assert built[light].ray_actor_options.get("resources") in (None, {})
        assert built[light].ray_actor_options["num_cpus"] < 0.5
    assert built["gateway"].ray_actor_options["num_cpus"] > 0
    aml_env = built["service-aml"].ray_actor_options["runtime_env"]["env_vars"]
    assert aml_env["OMP_NUM_THREADS"] == "1" and int(aml_env["TWINCORE_PROCESS_NICE"]) > 0
    assert built["gateway"]._deployment_config.autoscaling_config.min_replicas == 2


def test_fixed_replicas_without_autoscaling_and_accelerator_type() -> None:
    built = deployments(
        {"cores": {"deep": {"replicas": 3, "accelerator_type": "H100", "num_gpus": 1}}}
    )
    assert built["deep"].num_replicas == 3
    assert built["deep"]._deployment_config.autoscaling_config is None
    assert built["deep"].ray_actor_options["accelerator_type"] == "H100"
    assert built["deep"].ray_actor_options["num_gpus"] == 1
    assert "resources" not in built["swift"].ray_actor_options


def test_a_one_node_cluster_advertises_what_the_pinned_cores_reserve() -> None:
    settings = twincore_settings(read_serve_config(SERVE_YAML))[0]
    assert resources_needed(settings) == {"twincore_core": 2.0}  # one replica of each core
    assert cpus_needed(settings) == 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"cores": {"deep": {"resource": {"x": 1}}}}, "resource"),  # a typo, not dropped
        ({"cores": {"swift": {"autoscaling": {"min_replicas": 3, "max_replicas": 2}}}}, "above"),
        ({"gateway": {"replicas": 0}}, "replicas"),
    ],
)
def test_invalid_args_fail_before_anything_deploys(
    tmp_path: Path, args: dict[str, Any], message: str
) -> None:
    spec = yaml.safe_load(SERVE_YAML.read_text())
    spec["applications"][0]["args"] = args
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ServeConfigError, match=message):
        read_serve_config(path)


def test_ray_schema_violations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump({"applications": [{"name": "x"}]}))  # no import_path
    with pytest.raises(ServeConfigError, match="import_path"):
        read_serve_config(path)
    path.write_text("applications: [unclosed")
    with pytest.raises(ServeConfigError, match="cannot read"):
        read_serve_config(path)


def test_serve_command_reports_a_bad_config_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    spec = yaml.safe_load(SERVE_YAML.read_text())
    spec["applications"][0]["args"]["cores"]["deep"]["quantization"] = "int3"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(cli, ["serve", "--config", str(path)])
    assert result.exit_code == 2
    assert "quantization" in result.stderr and "invalid args" in result.stderr
