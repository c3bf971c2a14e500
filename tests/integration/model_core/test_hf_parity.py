"""Our model against Hugging Face transformers' DeepseekV3ForCausalLM on the tiny presets.

Both load the same `save_pretrained` directory; logits must agree within 1e-4 (float32) and
every MoE layer must pick the same experts for every token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import DeepseekV3Config, DeepseekV3ForCausalLM

from twincore.model_core.config import load_preset, to_hf_config
from twincore.model_core.loader import load_model
from twincore.model_core.model import MoE


def _hf_model(preset: str, seed: int) -> DeepseekV3ForCausalLM:
    torch.manual_seed(seed)
    settings = {k: v for k, v in to_hf_config(load_preset(preset)).items() if k != "model_type"}
    model = DeepseekV3ForCausalLM(DeepseekV3Config(**settings)).eval()
    with torch.no_grad():  # larger than HF's init so routing and attention are far from uniform
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.copy_(1 + 0.1 * torch.randn_like(param))
            else:
                param.normal_(0, 0.05)
        for name, buffer in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buffer.copy_(0.1 * torch.rand_like(buffer))
    return model


def _hf_routing(model: DeepseekV3ForCausalLM) -> tuple[list[torch.Tensor], list[Any]]:
    captured: list[torch.Tensor] = []
    hooks = []
    for layer in model.model.layers:
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and hasattr(gate, "e_score_correction_bias"):
            hooks.append(gate.register_forward_hook(lambda _m, _i, out: captured.append(out[2])))
    return captured, hooks


@pytest.mark.parametrize(("preset", "seed"), [("deep-tiny", 0), ("swift-tiny", 1)])
def test_logits_and_expert_choices_match_transformers(
    preset: str, seed: int, tmp_path: Path
) -> None:
    hf = _hf_model(preset, seed)
    hf.save_pretrained(tmp_path / "ckpt")
    ours = load_model(tmp_path / "ckpt")
    vocab = ours.config.vocab_size
    tokens = torch.randint(0, vocab, (4, 48), generator=torch.Generator().manual_seed(seed))
    captured, hooks = _hf_routing(hf)
    with torch.inference_mode():
        reference = hf(tokens).logits
        for absorb in (False, True):
            for module in ours.modules():
                if hasattr(module, "absorb"):
                    module.absorb = absorb
            logits = ours(tokens, torch.arange(48).expand(4, -1))
            assert (logits - reference).abs().max().item() < 1e-4
    for hook in hooks:
        hook.remove()
    ours_moe = [layer.mlp for layer in ours.model.layers if isinstance(layer.mlp, MoE)]
    assert len(captured) == len(ours_moe) > 0
    for theirs, mine in zip(captured, ours_moe, strict=True):
        assert mine.last_indices is not None
        assert torch.equal(theirs.sort(dim=-1).values, mine.last_indices.sort(dim=-1).values)
