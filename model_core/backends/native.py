"""`NativeBackend`: a core served in-process by our engine, with the core's profile.

A profile may name a drafter for speculative decoding: "mtp" (the checkpoint's own DeepSeek-V3
MTP module) or another model with the same tokenizer (swift's Qwen2.5-Coder-0.5B drafting for
deep's 1.5B). The tokenizers are compared when the core loads, never assumed.

On a CUDA device the engine runs the float model in bfloat16 (attention through PyTorch's SDPA);
the int8/int4 kernels are CPU kernels, so the profile's quantization applies on the CPU only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.core_cache import load_core_model
from twincore.model_core.backends.devices import place, resolve_device
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.speculative import Drafter, ModelDrafter, MTPDrafter
from twincore.model_core.engine.types import Chunk, EngineConfig, GenerationRequest
from twincore.model_core.info import count_parameters
from twincore.model_core.model import Transformer

MTP_DRAFT = "mtp"
"""The `draft` value that drafts with the checkpoint's own multi-token-prediction module."""

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
    device: str = "cpu"
    """Torch device of the engine: "cpu", "cuda" or "cuda:N"."""
    draft: str | None = None
    """Speculative decoding: "mtp", a model sharing the tokenizer, or None (off)."""


class NativeBackend:
    """Loads the profile's model once and serves every request through one engine."""

    def __init__(self, profile: CoreProfile, *, data_dir: Path) -> None:
        self.name, self.profile = profile.name, profile
        device = resolve_device(profile.device)
        # The CPU kernels are the point of quantizing; elsewhere the float model runs in bf16.
        mode = profile.quantization if device.type == "cpu" else "none"
        model, self.tokenizer, self.from_cache = load_core_model(
            profile.model, mode, data_dir=data_dir
        )
        source = "cache" if self.from_cache else "conversion"
        logger.info(
            "core %s: %s (%s, %s) from %s", self.name, profile.model, mode, device, source
        )  # fmt: skip
        self.model: Transformer = place(model, device)
        self.drafter = self._drafter(profile, device, data_dir)
        self.engine = Engine(self.model, self.tokenizer, profile.engine, draft=self.drafter)
        self._params = count_parameters(model.config)

    def _drafter(
        self, profile: CoreProfile, device: torch.device, data_dir: Path
    ) -> Drafter | None:
        if profile.draft is None:
            return None
        if profile.draft == MTP_DRAFT:
            if not self.model.config.num_mtp_layers:
                raise ValueError(
                    f"core {self.name}: {profile.model} has no MTP module to draft with"
                )
            return MTPDrafter(self.model)
        mode = profile.quantization if device.type == "cpu" else "none"
        draft_model, draft_tokenizer, _ = load_core_model(profile.draft, mode, data_dir=data_dir)
        problem = self.tokenizer.difference(draft_tokenizer)
        if problem is not None:
            raise ValueError(
                f"core {self.name}: draft model {profile.draft} cannot draft for {profile.model}: "
                f"their tokenizers differ ({problem})"
            )
        logger.info("core %s: %s drafts for speculative decoding", self.name, profile.draft)
        return ModelDrafter(place(draft_model, device), target_vocab=self.model.config.vocab_size)

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
            "device": str(self.model.model.embed_tokens.weight.device),
            "draft": self.profile.draft,
            "default_max_tokens": self.profile.default_max_tokens,
            **self._params,
        }

    def health(self) -> dict[str, Any]:
        stats = self.engine.stats()
        return {"ok": True, "running": stats["running"], "waiting": stats["waiting"]}

    def close(self) -> None:
        self.engine.close()
