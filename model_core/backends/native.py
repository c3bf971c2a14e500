"""`NativeBackend`: a core served in-process by our engine, with the core's profile."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.core_cache import load_core_model
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk, EngineConfig, GenerationRequest
from twincore.model_core.info import count_parameters
from twincore.model_core.model import Transformer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoreProfile:
    """How one core runs: its model, quantization and default budget."""

    name: str
    model: str
    """Default model name, checkpoint directory or GGUF file."""
    quantization: Literal["none", "int8", "int4"] = "int8"
    default_max_tokens: int = 256
    default_temperature: float = 0.0
    engine: EngineConfig = field(default_factory=EngineConfig)


class NativeBackend:
    """Loads the profile's model once and serves every request through one engine."""

    def __init__(self, profile: CoreProfile, *, data_dir: Path) -> None:
        self.name, self.profile = profile.name, profile
        model, self.tokenizer, self.from_cache = load_core_model(
            profile.model, profile.quantization, data_dir=data_dir
        )
        source = "cache" if self.from_cache else "conversion"
        logger.info(
            "core %s: %s (%s) from %s", self.name, profile.model, profile.quantization, source
        )
        self.model: Transformer = model
        self.engine = Engine(model, self.tokenizer, profile.engine)
        self._params = count_parameters(model.config)

    async def generate(self, request: CoreRequest) -> AsyncIterator[Chunk]:
        if request.prompt is not None:
            ids = self.tokenizer.encode(request.prompt)
        else:
            ids = self.tokenizer.encode_chat(request.messages)
        engine_request = GenerationRequest(
            tuple(ids), request.params, request.request_id, request.deadline_s
        )
        async for chunk in self.engine.generate(engine_request):
            yield chunk

    def default_params(self, **overrides: Any) -> SamplingParams:
        """The profile's default budget with per-request overrides."""
        base = SamplingParams(
            max_tokens=self.profile.default_max_tokens,
            temperature=self.profile.default_temperature,
        )
        return replace(base, **overrides)

    def info(self) -> dict[str, Any]:
        config = self.model.config
        return {
            "core": self.name,
            "backend": "native",
            "model": self.profile.model,
            "attention": config.attention,
            "layers": config.num_layers,
            "routed_experts": config.n_routed_experts,
            "context": config.max_position_embeddings,
            "quantization": self.profile.quantization,
            "default_max_tokens": self.profile.default_max_tokens,
            **self._params,
        }

    def health(self) -> dict[str, Any]:
        stats = self.engine.stats()
        return {"ok": True, "running": stats["running"], "waiting": stats["waiting"]}

    def close(self) -> None:
        self.engine.close()
