"""deploy/kuberay/rayservice.yaml: valid against KubeRay's RayService CRD (made strict), the
embedded Serve config equal to deploy/serve.yaml, GPU core group, probes, volume, secrets by
reference."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

REPO = Path(__file__).resolve().parents[3]
RAYSERVICE = REPO / "deploy" / "kuberay" / "rayservice.yaml"
CRD = REPO / "tests" / "data" / "kuberay" / "ray.io_rayservices.yaml"
SECRET_WORDS = ("SECRET", "PASSWORD", "API_KEY", "DATABASE_URL", "TOKEN")


def strict(schema: Any) -> Any:
    """The CRD's OpenAPI schema with unknown fields refused (the API server would prune them
    silently; `kubectl apply --validate=strict` refuses them, and so does this test)."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        open_object = schema.get("x-kubernetes-preserve-unknown-fields") or (
            "additionalProperties" in schema
        )
        if "properties" in schema and not open_object:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@cache
def validator() -> jsonschema.Draft7Validator:
    crd = yaml.safe_load(CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))


def documents() -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(RAYSERVICE.read_text())}


def rayservice() -> dict[str, Any]:
    return documents()["RayService"]


def groups(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cluster = service["spec"]["rayClusterConfig"]
    found = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    return {"head": cluster["headGroupSpec"], **found}


def test_rayservice_validates_against_the_kuberay_crd() -> None:
    service = rayservice()
    assert service["apiVersion"] == "ray.io/v1"
    errors = [e.message for e in validator().iter_errors(service)]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "rayClusterConfig", "headGroupSpec", "rayStartParam"), {}),  # misspelt field
        (("spec", "rayClusterConfig", "workerGroupSpecs", 0, "maxReplicas"), "four"),
        (("spec", "serveConfigV2"), {"applications": []}),  # must be a YAML string
    ],
)
def test_the_crd_validation_catches_broken_documents(path: tuple[Any, ...], value: Any) -> None:
    broken = copy.deepcopy(rayservice())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(validator().iter_errors(broken))


def test_embedded_serve_config_is_deploy_serve_yaml_and_valid() -> None:
    embedded = yaml.safe_load(rayservice()["spec"]["serveConfigV2"])
    assert embedded == yaml.safe_load((REPO / "deploy" / "serve.yaml").read_text())
    ServeDeploySchema.model_validate(embedded)


def test_gpu_group_is_the_core_group_with_checkpoints() -> None:
    found = groups(rayservice())
    assert set(found) == {"head", "cpu", "gpu"}
    assert found["head"]["rayStartParams"]["num-cpus"] == "0"
    gpu = found["gpu"]
    assert "twincore_core" in gpu["rayStartParams"]["resources"]
    assert "twincore_core" not in str(found["cpu"]["rayStartParams"])
    (container,) = gpu["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["checkpoints"]["mountPath"] == "/checkpoints"
    volumes = {v["name"]: v for v in gpu["template"]["spec"]["volumes"]}
    claim = volumes["checkpoints"]["persistentVolumeClaim"]["claimName"]
    assert documents()["PersistentVolumeClaim"]["metadata"]["name"] == claim


def test_every_container_has_probes_and_runs_as_non_root() -> None:
    for name, group in groups(rayservice()).items():
        spec = group["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"], name
            assert container["livenessProbe"]["httpGet"]["path"], name


def test_secrets_are_referenced_never_inlined() -> None:
    seen = set()
    for name, group in groups(rayservice()).items():
        for container in group["template"]["spec"]["containers"]:
            for variable in container["env"]:
                if any(word in variable["name"] for word in SECRET_WORDS):
                    assert "value" not in variable, (name, variable["name"])
                    assert variable["valueFrom"]["secretKeyRef"]["name"] == "twincore-secrets"
                    seen.add(variable["name"])
    needed = {"TWINCORE_SECRET_KEY", "TWINCORE_DATABASE_URL", "TWINCORE_GRAPH__NEO4J_PASSWORD"}
    assert needed <= seen
