"""Settings: defaults, the three sources and their precedence, validation, secret handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twincore.platform.settings import (
    InsecureSettingsError,
    Settings,
    require_deployable,
    secret_key_bytes,
)


def test_defaults_live_under_the_data_dir() -> None:
    settings = Settings()
    assert settings.dev_mode is True
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/twincore.db"
    assert settings.graph.backend == "embedded"
    assert settings.graph.path == Path("var/graph.db")
    assert settings.cores.deep.model == "qwen2.5-coder-1.5b-instruct"
    assert settings.cores.deep.draft == "qwen2.5-coder-0.5b-instruct"
    assert settings.cores.swift.model == "qwen2.5-coder-0.5b-instruct"
    assert settings.cores.swift.draft is None
    assert settings.auth.require_api_key is False


@pytest.mark.parametrize(
    ("deep", "draft"),
    [
        ({"quantization": "int4"}, "qwen2.5-coder-0.5b-instruct"),
        ({"model": "qwen2.5-coder-1.5b-instruct"}, "qwen2.5-coder-0.5b-instruct"),
        ({"model": "smollm2-135m-instruct"}, None),  # another tokenizer: the default draft goes
        ({"model": "deepseek-v3-dir", "draft": "mtp"}, "mtp"),
        ({"draft": None}, None),
    ],
)
def test_the_default_draft_follows_only_the_default_deep_model(
    deep: dict[str, object], draft: str | None
) -> None:
    assert Settings(cores={"deep": deep}).cores.deep.draft == draft


def test_a_remote_core_refuses_a_draft() -> None:
    with pytest.raises(ValidationError, match="native backend only"):
        Settings(cores={"deep": {"backend": "openai", "base_url": "http://x/v1", "draft": "mtp"}})


def test_environment_overrides_nested_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINCORE_DATA_DIR", "/srv/twincore")
    monkeypatch.setenv("TWINCORE_CORES__DEEP__QUANTIZATION", "int4")
    monkeypatch.setenv("TWINCORE_GRAPH__BACKEND", "neo4j")
    monkeypatch.setenv("TWINCORE_GRAPH__NEO4J_URI", "bolt://graph:7687")
    settings = Settings()
    assert settings.database_url == "sqlite:////srv/twincore/twincore.db"
    assert settings.cores.deep.quantization == "int4"
    assert settings.cores.swift.quantization == "int8"
    assert settings.graph.neo4j_uri == "bolt://graph:7687"
    assert settings.graph.path is None


def test_yaml_file_is_read_and_env_wins_over_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "twincore.yaml").write_text(
        "data_dir: /data\nlog_level: DEBUG\ncores:\n  swift:\n    backend: openai\n"
        "    model: kimi-k2\n    base_url: http://vllm:8000/v1\n    api_key_env: MOONSHOT_KEY\n"
        "  deep:\n    model: deep-tiny\n"
    )
    monkeypatch.setenv("TWINCORE_LOG_LEVEL", "ERROR")
    settings = Settings()
    assert settings.data_dir == Path("/data")
    assert settings.log_level == "ERROR"
    assert settings.cores.swift.backend == "openai"
    assert settings.cores.swift.api_key_env == "MOONSHOT_KEY"
    assert settings.cores.deep.model == "deep-tiny"


def test_unknown_keys_in_the_yaml_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "twincore.yaml").write_text("data_dri: /typo\n")
    with pytest.raises(ValidationError, match="data_dri"):
        Settings()


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("dev_mode: false\nsecret_key: s3cret-from-file\n")
    monkeypatch.setenv("TWINCORE_CONFIG", str(config))
    settings = Settings()
    assert settings.dev_mode is False
    assert settings.auth.require_api_key is True
    require_deployable(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWINCORE_LOG_LEVEL": "LOUD"}, "log_level"),
        ({"TWINCORE_CORES__DEEP__BACKEND": "openai"}, "base_url"),
        ({"TWINCORE_GRAPH__BACKEND": "neo4j"}, "neo4j_uri"),
        ({"TWINCORE_CORES__MEDIUM__MODEL": "x"}, "medium"),
        ({"TWINCORE_CORES__SWIFT__QUANTIZATION": "int3"}, "quantization"),
    ],
)
def test_invalid_configuration_is_refused_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


@pytest.mark.parametrize("secret", ["", "changethis", "password"])
def test_production_refuses_empty_or_default_secrets(secret: str) -> None:
    settings = Settings(dev_mode=False, secret_key=secret)
    with pytest.raises(InsecureSettingsError, match="TWINCORE_SECRET_KEY"):
        require_deployable(settings)
    with pytest.raises(InsecureSettingsError):
        secret_key_bytes(settings)


def test_production_checks_database_and_graph_passwords() -> None:
    settings = Settings(
        dev_mode=False,
        secret_key="a-real-secret",
        database_url="postgresql+psycopg://app:postgres@db/twincore",
        graph={"backend": "neo4j", "neo4j_uri": "bolt://g:7687", "neo4j_password": "neo4j"},
    )
    problems = settings.insecure_settings()
    assert len(problems) == 2
    assert any("DATABASE_URL" in p for p in problems)
    assert any("NEO4J_PASSWORD" in p for p in problems)


def test_dev_mode_runs_without_secrets_on_a_marked_key() -> None:
    settings = Settings()
    require_deployable(settings)
    assert b"insecure" in secret_key_bytes(settings)


def test_masked_view_hides_every_secret() -> None:
    settings = Settings(
        secret_key="top-secret-key",
        database_url="postgresql+psycopg://app:hunter2@db:5432/twincore",
        graph={"backend": "neo4j", "neo4j_uri": "bolt://g:7687", "neo4j_password": "graph-pass"},
    )
    text = str(settings.masked())
    for secret in ("top-secret-key", "hunter2", "graph-pass"):
        assert secret not in text
    assert settings.masked()["database_url"] == "postgresql+psycopg://app:***@db:5432/twincore"
