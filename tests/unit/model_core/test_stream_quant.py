"""Quantizing while loading gives exactly the model that loading in float32 and then
`quantize_model` gives: same layers, codes, scales, casts and ties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from twincore.model_core import loader, quant
from twincore.model_core.config import load_preset, to_hf_config
from twincore.model_core.gguf_file import gguf_state_dict
from twincore.model_core.loader import init_random, load_model
from twincore.model_core.model import Transformer
from twincore.model_core.quant import QuantMode, StreamQuantizer, quantize_model

from .test_gguf_file import checkpoint, write_gguf

MODES: list[QuantMode] = ["int8", "int4", "none"]


def assert_same_model(streamed: Transformer, reference: Transformer) -> None:
    assert [type(m) for m in streamed.modules()] == [type(m) for m in reference.modules()]
    ours, theirs = streamed.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    for name, tensor in theirs.items():
        assert ours[name].dtype == tensor.dtype, name
        assert torch.equal(ours[name], tensor), name
    assert _tied(streamed) == _tied(reference)


def _tied(model: Transformer) -> bool:
    head = model.lm_head
    return isinstance(head, nn.Linear) and head.weight is model.model.embed_tokens.weight


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """deep-tiny (MLA, MoE routers, MTP, kv_b_proj kept float) as a safetensors folder; tiny
    llama and qwen2 GGUFs (qwen2: tied head and q/k/v biases)."""
    root = tmp_path_factory.mktemp("sources")
    config = load_preset("deep-tiny")
    (root / "deep-tiny").mkdir()
    save_file(init_random(config, seed=0).state_dict(), root / "deep-tiny" / "model.safetensors")
    (root / "deep-tiny" / "config.json").write_text(json.dumps(to_hf_config(config)))
    found = {"deep-tiny": root / "deep-tiny"}
    for arch in ("llama", "qwen2"):
        write_gguf(root / f"{arch}.gguf", arch, checkpoint(arch))
        found[arch] = root / f"{arch}.gguf"
    return found


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", ["deep-tiny", "llama", "qwen2", "qwen2-reversed"])
def test_streamed_quantization_equals_quantizing_the_float_model(
    source: str, mode: QuantMode, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sources[source.removesuffix("-reversed")]
    reference = load_model(path)
    quantize_model(reference, mode)
    # Blocks of 48 values: every projection is quantized a row or two at a time.
    monkeypatch.setattr(quant, "QUANTIZE_ELEMENTS", 48)
    if source.endswith("-reversed"):  # smallest first: each bias before its weight
        monkeypatch.setattr(
            loader, "gguf_state_dict", lambda src: reversed(list(gguf_state_dict(src)))
        )
    streamed = load_model(path, dtype=torch.bfloat16, quantization=mode)
    assert_same_model(streamed, reference)


def test_a_tied_head_is_quantized_from_the_embedding(sources: dict[str, Path]) -> None:
    model = load_model(sources["qwen2"], dtype=torch.bfloat16, quantization="int8")
    head: nn.Module = model.lm_head  # typed nn.Linear; quantization swapped it
    assert isinstance(head, quant.Int8Linear)
    embedding = model.model.embed_tokens.weight.float()  # bf16 rounding of the float32 values
    assert torch.allclose(head.dequantize(), embedding, atol=0.02, rtol=0.02)


def test_an_unknown_mode_is_refused() -> None:
    with torch.device("meta"):
        model = Transformer(load_preset("swift-tiny"))
    with pytest.raises(ValueError, match="unknown quantization mode 'int2'"):
        StreamQuantizer(model, "int2")  # type: ignore[arg-type]
