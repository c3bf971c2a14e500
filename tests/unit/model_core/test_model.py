"""The model file alone: MLA paths agree, routing rules hold, two models share no state."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from twincore.model_core.cache import DenseCache
from twincore.model_core.config import load_preset
from twincore.model_core.model import MLA, Gate, MoE, RMSNorm, Rotary, Transformer


def _random_model(name: str, seed: int = 0, absorb: bool = True) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(load_preset(name), absorb_mla=absorb).eval()
    with torch.no_grad():
        for param_name, param in model.named_parameters():
            if "norm" in param_name:
                param.copy_(1 + 0.1 * torch.randn_like(param))
            else:
                param.normal_(0, 0.05)
        for buffer_name, buffer in model.named_buffers():
            if buffer_name.endswith("e_score_correction_bias"):
                buffer.copy_(0.1 * torch.rand_like(buffer))
    return model


def _set_absorb(model: Transformer, absorb: bool) -> None:
    for module in model.modules():
        if isinstance(module, MLA):
            module.absorb = absorb


@pytest.mark.parametrize("name", ["deep-tiny", "swift-tiny"])
def test_absorbed_latent_cache_matches_naive_over_64_decode_steps(name: str) -> None:
    model = _random_model(name)
    prompt = torch.randint(0, model.config.vocab_size, (2, 12))
    steps = 64
    logits: dict[bool, list[torch.Tensor]] = {}
    for absorb in (False, True):
        _set_absorb(model, absorb)
        cache = DenseCache(batch=2, capacity=12 + steps)
        out = []
        with torch.inference_mode():
            step_logits = model(prompt, torch.arange(12).expand(2, -1), cache)[:, -1]
            for step in range(steps):
                out.append(step_logits)
                token = step_logits.argmax(-1, keepdim=True)  # [B, 1]
                position = torch.full((2, 1), 12 + step)
                step_logits = model(token, position, cache)[:, -1]
        logits[absorb] = out
    worst = max(
        (a - b).abs().max().item() for a, b in zip(logits[False], logits[True], strict=True)
    )
    assert worst < 1e-4


def test_latent_cache_stores_only_c_kv_and_rope_key() -> None:
    model = _random_model("deep-tiny")
    cfg = model.config
    cache = DenseCache(batch=1, capacity=10)
    with torch.inference_mode():
        model(torch.randint(0, cfg.vocab_size, (1, 10)), torch.arange(10)[None], cache)
    per_token = cache.bytes_used() // 10 // 4  # float32 elements per token, all layers
    assert per_token == cfg.num_layers * (cfg.kv_lora_rank + cfg.qk_rope_head_dim)


def test_cached_decode_equals_full_forward() -> None:
    model = _random_model("deep-tiny")
    tokens = torch.randint(0, model.config.vocab_size, (1, 20))
    with torch.inference_mode():
        full = model(tokens, torch.arange(20)[None])
        cache = DenseCache(batch=1, capacity=20)
        model(tokens[:, :15], torch.arange(15)[None], cache)
        rest = model(tokens[:, 15:], torch.arange(15, 20)[None], cache)
    assert (rest - full[:, 15:]).abs().max().item() < 1e-4


def test_group_limited_routing_only_picks_from_the_best_groups() -> None:
    cfg = load_preset("deep-tiny")  # 8 experts in 4 groups, 2 groups allowed, top-2
    gate = Gate(cfg)
    torch.manual_seed(1)
    with torch.no_grad():
        gate.weight.normal_(0, 1)
    x = torch.randn(64, cfg.hidden_size)
    weights, indices = gate(x)
    scores = torch.sigmoid(x @ gate.weight.T)
    group_scores = scores.view(64, 4, 2).topk(2, dim=-1).values.sum(-1)
    allowed = group_scores.topk(2, dim=-1).indices
    assert all(set((indices[i] // 2).tolist()) <= set(allowed[i].tolist()) for i in range(64))
    expected = scores.gather(1, indices)
    expected = expected / expected.sum(-1, keepdim=True) * cfg.routed_scaling_factor
    assert torch.allclose(weights, expected, atol=1e-6)


def test_correction_bias_steers_selection_but_not_weights() -> None:
    cfg = load_preset("swift-tiny")
    gate = Gate(cfg)
    with torch.no_grad():
        gate.weight.normal_(0, 1)
        gate.e_score_correction_bias.zero_()
        gate.e_score_correction_bias[5] = 100.0  # expert 5 always chosen
    x = torch.randn(16, cfg.hidden_size)
    weights, indices = gate(x)
    assert (indices == 5).any(dim=1).all()
    scores = torch.sigmoid(x @ gate.weight.T).gather(1, indices)
    assert torch.allclose(weights, scores / scores.sum(-1, keepdim=True) * 2.827, atol=1e-6)


def test_softmax_greedy_routing_of_v2_lite_without_normalisation() -> None:
    cfg = load_preset("deepseek-v2-lite")
    small = replace(cfg, hidden_size=16, n_routed_experts=8)
    gate = Gate(small)
    with torch.no_grad():
        gate.weight.normal_(0, 1)
    x = torch.randn(4, 16)
    weights, indices = gate(x)
    probs = torch.softmax(x @ gate.weight.T, dim=-1)
    assert torch.equal(indices.sort(-1).values, probs.topk(6, dim=-1).indices.sort(-1).values)
    assert torch.allclose(weights, probs.gather(1, indices), atol=1e-6)


def test_moe_dispatch_equals_per_token_reference() -> None:
    model = _random_model("swift-tiny")
    moe = model.model.layers[1].mlp
    assert isinstance(moe, MoE)
    x = torch.randn(2, 7, model.config.hidden_size)
    with torch.no_grad():
        out = moe(x)
        flat = x.view(-1, x.shape[-1])
        weights, indices = moe.gate(flat)
        expected = torch.stack(
            [
                sum(
                    w * moe.experts[int(e)](flat[t])
                    for w, e in zip(weights[t], indices[t], strict=True)
                )
                for t in range(flat.shape[0])
            ]
        )
        assert moe.shared_experts is not None
        expected = expected + moe.shared_experts(flat)
    assert (out.view(-1, x.shape[-1]) - expected).abs().max().item() < 1e-5


def test_two_models_live_in_one_process() -> None:
    deep, swift = _random_model("deep-tiny", seed=1), _random_model("swift-tiny", seed=2)
    tokens = torch.randint(0, 512, (1, 8))
    positions = torch.arange(8)[None]
    with torch.inference_mode():
        before = deep(tokens, positions)
        swift(tokens, positions)
        after = deep(tokens, positions)
    assert torch.equal(before, after)
    assert deep.rotary.inv_freq.shape == swift.rotary.inv_freq.shape
    assert not torch.equal(deep.rotary.inv_freq, swift.rotary.inv_freq)  # YaRN vs theta 50000


def test_mtp_predicts_from_hidden_state_and_next_token() -> None:
    model = _random_model("deep-tiny")
    tokens = torch.randint(0, 512, (1, 9))
    positions = torch.arange(8)[None]
    with torch.inference_mode():
        hidden = model.hidden_states(tokens[:, :8], positions)
        logits, mtp_hidden = model.mtp_forward(hidden, tokens[:, 1:9], positions)
    assert logits.shape == (1, 8, 512)
    assert mtp_hidden.shape == hidden.shape
    assert torch.isfinite(logits).all()


def test_model_file_stays_one_readable_file() -> None:
    from twincore.model_core import model as model_module

    assert model_module.__file__ is not None
    source = Path(model_module.__file__).read_text(encoding="utf-8")
    assert len(source.splitlines()) < 900
    assert "global " not in source


@pytest.mark.parametrize("interleave", [False, True])
def test_rotation_in_place_equals_the_textbook_rotation(interleave: bool) -> None:
    config = replace(load_preset("deep-tiny"), rope_interleave=interleave)
    rope = Rotary(config)(torch.tensor([[0, 3, 17], [5, 6, 900]]))
    x = torch.randn(2, 3, 4, config.rotary_dim)
    cos = rope.cos[..., 0::2] if interleave else rope.cos.chunk(2, dim=-1)[0]  # [B, S, 1, D/2]
    sin = rope.sin[..., 1::2] if interleave else rope.sin.chunk(2, dim=-1)[1]  # the + half
    if interleave:
        even, odd = x[..., 0::2], x[..., 1::2]
        expected = torch.stack((even * cos - odd * sin, odd * cos + even * sin), -1).flatten(-2)
    else:
        first, second = x.chunk(2, dim=-1)
        expected = torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)
    rotated = x.clone()
    rope.rotate_(rotated)
    assert (rotated - expected).abs().max().item() < 1e-6


def test_rms_norm_matches_hugging_face_rounding() -> None:
    norm = RMSNorm(64, 1e-6)
    with torch.no_grad():
        norm.weight.normal_(1, 0.1)
    x = torch.randn(3, 64) * 5
    # Hugging Face: normalise in float32, round to the input dtype, then scale.
    hf = norm.weight * torch.nn.functional.rms_norm(x.float(), (64,), eps=1e-6).to(x.dtype)
    assert torch.equal(norm(x), hf)
    norm.to(torch.bfloat16)
    x16 = x.to(torch.bfloat16)
    hf16 = norm.weight * torch.nn.functional.rms_norm(x16.float(), (64,), eps=1e-6).to(x16.dtype)
    ulp = hf16.float().abs() * 2**-7  # one bfloat16 step at that magnitude
    assert ((norm(x16).float() - hf16.float()).abs() <= ulp + 1e-6).all()
