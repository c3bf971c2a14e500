"""One settings object for the platform: `TWINCORE_*` env vars, an optional YAML file, defaults.

Precedence, highest first: arguments, environment (`TWINCORE_DATA_DIR`, nested blocks with `__`,
e.g. `TWINCORE_CORES__DEEP__QUANTIZATION=int4`), the YAML file (`twincore.yaml` in the working
directory, or the path in `TWINCORE_CONFIG`), then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

CONFIG_FILE_ENV = "TWINCORE_CONFIG"
DEFAULT_CONFIG_FILE = "twincore.yaml"

# Values that must never protect a deployment: empty, the usual placeholders, vendor defaults.
INSECURE_SECRETS = frozenset(
    {"", "changethis", "change-me", "changeme", "secret", "password", "admin", "neo4j", "postgres"}
)


class AutoscalingConfig(BaseModel):
    """Ray Serve autoscaling of one deployment: replicas follow the requests in flight."""

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(1, ge=0, description="replicas kept when idle")
    max_replicas: int = Field(ge=1, description="replicas at most")
    target_ongoing_requests: float = Field(
        8.0, gt=0, description="requests in flight per replica the autoscaler aims for"
    )

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("autoscaling min_replicas is above max_replicas")
        return self


class CoreConfig(BaseModel):
    """How one model core is served."""

    # A misspelt key in a Serve config's args must fail the deploy, not vanish.
    model_config = ConfigDict(extra="forbid")

    backend: Literal["native", "openai"] = Field(
        "native",
        description="native: our engine in-process; openai: a remote OpenAI-compatible API",
    )
    model: str = Field(
        description="native: a preset name, checkpoint directory or GGUF file; "
        "openai: the model name the remote API expects"
    )
    quantization: Literal["none", "int8", "int4"] = Field(
        "int8", description="weight-only quantization applied by the native engine"
    )
    device: str = Field(
        "cpu", description="torch device of the native engine: cpu, cuda or cuda:N (bf16 on CUDA)"
    )
    draft: str | None = Field(
        None,
        description="speculative decoding (native): a model sharing this core's tokenizer that "
        "drafts tokens (checked at load), 'mtp' for the checkpoint's own MTP module, or null (off)",
    )
    base_url: str | None = Field(None, description="remote API base URL (backend openai)")
    api_key_env: str | None = Field(
        None, description="name of the environment variable that holds the remote API key"
    )
    threads: int | None = Field(None, ge=1, description="torch threads; default all CPUs")
    max_running: int = Field(16, ge=1, description="sequences the engine decodes together")
    max_waiting: int = Field(64, ge=0, description="queued requests before 'queue full'")
    kv_memory_mb: int = Field(256, ge=1, description="KV cache pool of the native engine")
    replicas: int = Field(1, ge=1, description="Ray Serve replicas of this core")
    num_cpus: float | None = Field(
        None, ge=0, description="Ray CPUs reserved per replica; default 1 native, 0 openai"
    )
    num_gpus: float = Field(0.0, ge=0, description="Ray GPUs reserved per replica")
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="custom Ray resources per replica; pins the core to nodes that advertise "
        "them (deploy/: core worker groups advertise `twincore_core`)",
    )
    accelerator_type: str | None = Field(
        None, description="Ray accelerator type a replica needs, e.g. H100 or A10G"
    )
    autoscaling: AutoscalingConfig | None = Field(
        None, description="Serve autoscaling; when set it replaces `replicas`"
    )

    def replica_cpus(self) -> float:
        """CPUs a replica reserves: a remote core only waits on the network."""
        if self.num_cpus is not None:
            return self.num_cpus
        return 1.0 if self.backend == "native" else 0.0

    @model_validator(mode="after")
    def _remote_needs_url(self) -> CoreConfig:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url (the remote /v1 endpoint)")
        if self.backend == "openai" and self.draft is not None:
            raise ValueError("draft (speculative decoding) applies to the native backend only")
        return self


class GraphConfig(BaseModel):
    """Where the knowledge graph lives: an embedded FalkorDB file or a Neo4j server."""

    backend: Literal["embedded", "neo4j"] = "embedded"
    path: Path | None = Field(
        None, description="embedded database file; default <data_dir>/graph.db"
    )
    neo4j_uri: str | None = Field(None, description="Bolt URI, e.g. bolt://neo4j:7687")
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    @model_validator(mode="after")
    def _neo4j_needs_uri(self) -> GraphConfig:
        if self.backend == "neo4j" and not self.neo4j_uri:
            raise ValueError("graph backend 'neo4j' needs neo4j_uri")
        return self


class AuthConfig(BaseModel):
    """API key policy for the gateway."""

    require_api_key: bool | None = Field(
        None,
        description="require an API key on every request; default: off in dev mode, on otherwise",
    )


class GatewayConfig(BaseModel):
    """The HTTP edge: where it listens and how much each key may ask."""

    host: str = Field("127.0.0.1", description="address the HTTP proxy binds")
    port: int = Field(8000, ge=1, le=65535)
    rate_limit_per_minute: float = Field(
        600.0, gt=0, description="sustained requests per minute per API key (token bucket)"
    )
    rate_limit_burst: int = Field(60, ge=1, description="requests a key may send at once")
    default_max_tokens: int = Field(256, ge=1, description="budget when a request sets none")
    replicas: int = Field(1, ge=1, description="Ray Serve replicas of the gateway")
    autoscaling: AutoscalingConfig | None = Field(
        None, description="Serve autoscaling of the gateway; when set it replaces `replicas`"
    )
    router_cooldown_s: float = Field(
        10.0, ge=0, description="seconds a failed core is tried last before it gets traffic again"
    )


class RouterConfig(BaseModel):
    """How `auto` requests are routed: the stage-1 classifier and the stage-2 policy file."""

    policy: Path | None = Field(
        None, description="routing policy YAML; default: the packaged decision tree"
    )
    classifier: Path | None = Field(
        None,
        description="classifier artifact directory; default: <data_dir>/router/classifier when "
        "`twincore router train` wrote one there, else the packaged one",
    )


# The embedded defaults: real instruct weights that install offline as data packages. Swift's
# model shares deep's tokenizer, so it drafts for deep (speculative decoding).
DEFAULT_CORES: dict[str, dict[str, Any]] = {
    "deep": {"model": "qwen2.5-coder-1.5b-instruct", "draft": "qwen2.5-coder-0.5b-instruct"},
    "swift": {"model": "qwen2.5-coder-0.5b-instruct"},
}


class CoresConfig(BaseModel):
    """The two model cores; a partial block (env or YAML) is merged onto the defaults."""

    model_config = ConfigDict(extra="forbid")

    deep: CoreConfig = Field(description="accuracy first: offline analysis, vertical domains")
    swift: CoreConfig = Field(description="latency first: real-time dialogue")

    @model_validator(mode="before")
    @classmethod
    def _merge_onto_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged: dict[str, Any] = dict(data)
        for name, default in DEFAULT_CORES.items():
            given = data.get(name, {})
            if not isinstance(given, dict):
                merged[name] = given
                continue
            base = dict(default)
            if (
                given.get("model", base["model"]) != base["model"]
                or given.get("backend") == "openai"
            ):
                base.pop("draft", None)  # the default draft only fits the default model
            merged[name] = {**base, **given}
        return merged


class Settings(BaseSettings):
    """The resolved configuration of one Twincore process."""

    model_config = SettingsConfigDict(
        env_prefix="TWINCORE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    dev_mode: bool = Field(True, description="development defaults; off refuses insecure secrets")
    data_dir: Path = Field(Path("var"), description="databases, assembled weights, artifacts")
    database_url: str = Field(
        "", description="SQLAlchemy URL; default SQLite <data_dir>/twincore.db"
    )
    secret_key: SecretStr = Field(SecretStr(""), description="HMAC key for API key hashes")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: console on a terminal, JSON lines otherwise"
    )
    auth: AuthConfig = Field(default_factory=AuthConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    graph: GraphConfig = Field(default_factory=GraphConfig)
    router: RouterConfig = Field(default_factory=RouterConfig)
    cores: CoresConfig = Field(default_factory=lambda: CoresConfig.model_validate({}))

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'twincore.db'}"
        if self.graph.backend == "embedded" and self.graph.path is None:
            self.graph.path = self.data_dir / "graph.db"
        if self.auth.require_api_key is None:
            self.auth.require_api_key = not self.dev_mode
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        yaml_settings = YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)
        return init_settings, env_settings, yaml_settings, file_secret_settings

    def insecure_settings(self) -> list[str]:
        """Reasons this configuration must not serve outside dev mode (empty when it may)."""
        problems = []
        if self.secret_key.get_secret_value() in INSECURE_SECRETS:
            problems.append("TWINCORE_SECRET_KEY is empty or a known default")
        if self.graph.backend == "neo4j" and (
            self.graph.neo4j_password.get_secret_value() in INSECURE_SECRETS
        ):
            problems.append("TWINCORE_GRAPH__NEO4J_PASSWORD is empty or a known default")
        url = make_url(self.database_url)
        if url.password is not None and str(url.password) in INSECURE_SECRETS:
            problems.append("the password in TWINCORE_DATABASE_URL is empty or a known default")
        return problems

    def absolute(self) -> Settings:
        """A copy with every relative path made absolute against the current directory, for
        processes (Ray workers) that run elsewhere."""
        url = make_url(self.database_url)
        database_url = self.database_url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            database = Path(url.database)
            if not database.is_absolute():
                database_url = url.set(database=str(database.resolve())).render_as_string(
                    hide_password=False
                )
        graph = self.graph.model_copy(
            update={"path": self.graph.path.resolve() if self.graph.path else None}
        )
        router = self.router.model_copy(
            update={
                "policy": self.router.policy.resolve() if self.router.policy else None,
                "classifier": self.router.classifier.resolve() if self.router.classifier else None,
            }
        )
        return self.model_copy(
            update={
                "data_dir": self.data_dir.resolve(),
                "database_url": database_url,
                "graph": graph,
                "router": router,
            }
        )

    def masked(self) -> dict[str, Any]:
        """The configuration as JSON-ready data with every secret replaced by asterisks."""
        data = self.model_dump(mode="json")
        data["database_url"] = make_url(self.database_url).render_as_string(hide_password=True)
        return data


class InsecureSettingsError(RuntimeError):
    """Raised when a start-up command runs outside dev mode with empty or default secrets."""


def require_deployable(settings: Settings) -> None:
    """Refuse to start outside dev mode while any secret is empty or a known default."""
    if settings.dev_mode:
        return
    problems = settings.insecure_settings()
    if problems:
        raise InsecureSettingsError(
            "refusing to start with TWINCORE_DEV_MODE=false: "
            + "; ".join(problems)
            + ". Set real secrets (environment or twincore.yaml),"
            " or TWINCORE_DEV_MODE=true on a laptop."
        )


def secret_key_bytes(settings: Settings) -> bytes:
    """The HMAC key; in dev mode an empty key falls back to a fixed, clearly insecure one."""
    require_deployable(settings)
    key = settings.secret_key.get_secret_value()
    if not key:
        key = "twincore-dev-mode-insecure-key"
    return key.encode()
