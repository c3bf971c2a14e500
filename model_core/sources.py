"""Where a model comes from: a default model, a preset, a checkpoint directory or a GGUF file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from twincore.model_core.config import ModelConfig, load_config, load_preset, preset_names
from twincore.model_core.gguf_file import config_from_gguf
from twincore.model_core.weights import default_model_names, resolve_default_model


@dataclass(frozen=True)
class ModelSource:
    """A resolved model reference: what kind it is and where its files are."""

    kind: Literal["default", "preset", "checkpoint", "gguf"]
    name: str
    path: Path | None
    """Checkpoint directory or GGUF file; None for presets (random weights)."""


def resolve_source(name_or_path: str, *, data_dir: Path, fetch: bool = True) -> ModelSource:
    """Resolve what the user named; `fetch=False` does not assemble default weights."""
    if name_or_path in default_model_names():
        path = resolve_default_model(name_or_path, data_dir=data_dir) if fetch else None
        return ModelSource("default", name_or_path, path)
    if name_or_path in preset_names():
        return ModelSource("preset", name_or_path, None)
    path = Path(name_or_path)
    if path.is_dir():
        return ModelSource("checkpoint", name_or_path, path)
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource("gguf", name_or_path, path)
    raise ValueError(
        f"{name_or_path!r} is neither a default model ({', '.join(default_model_names())}), "
        f"a preset ({', '.join(preset_names())}), a checkpoint directory nor a .gguf file"
    )


def source_config(source: ModelSource) -> ModelConfig:
    """The model config of a resolved source, read without loading any weights."""
    if source.kind == "preset":
        return load_preset(source.name)
    if source.path is None:
        raise ValueError(f"{source.name} has no files resolved yet")
    if source.path.suffix == ".gguf":
        return config_from_gguf(source.path)
    return load_config(source.path)
