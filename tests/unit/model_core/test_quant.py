"""Weight-only quantization: layers against their dequantized weights and the float layer, whole
models quantized in place, quantized checkpoints round-tripped, and the perplexity helper.

Layer tests marked `aten_only` pin PyTorch's kernels and the dequantize path; twincore's own
kernels have theirs in test_kernels.py. Whole-model tests run whatever path the machine takes."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from twincore.model_core import kernels, quant_linear
from twincore.model_core.config import config_from_dict
from twincore.model_core.loader import init_random, load_model
from twincore.model_core.model import Gate, Transformer
from twincore.model_core.perplexity import eval_text, perplexity
from twincore.model_core.quant import (
    Int4Linear,
    Int8Linear,
    load_quantized,
    quantize_model,
    save_quantized,
    weight_bytes,
)
from twincore.model_core.quant_linear import (
    DEQUANTIZE,
    INT4_KERNEL,
    INT8_KERNEL,
    TWINCORE_INT4,
    int4_group_for,
    quantize_int4,
    unpack_kernel_layout,
)

BF16 = torch.bfloat16


@pytest.fixture
def aten_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers built in the test take PyTorch's kernels even where twincore's would run."""
    monkeypatch.setattr(quant_linear, "_twincore_usable", lambda device: False)


def _linear(n: int, k: int, bias: bool = True, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(k, n, bias=bias)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


# (out N, in K, int4 group, int8 path, int4 path): N % 16 and K % group decide the int4 path,
# K % 16 the int8 path (the bf16 int8 kernel is wrong for other K).
SHAPES = [
    (48, 64, 32, INT8_KERNEL, INT4_KERNEL),
    (64, 256, 128, INT8_KERNEL, INT4_KERNEL),
    (320, 96, 32, INT8_KERNEL, INT4_KERNEL),
    (24, 64, 32, INT8_KERNEL, DEQUANTIZE),  # N not a multiple of 16
    (32, 80, 32, INT8_KERNEL, DEQUANTIZE),  # K not a multiple of the group
    (16, 40, 32, DEQUANTIZE, DEQUANTIZE),  # K not a multiple of 16 either
]


@pytest.mark.usefixtures("aten_only")
@pytest.mark.parametrize(("n", "k", "group", "int8_path", "int4_path"), SHAPES)
@pytest.mark.parametrize("dtype", [BF16, torch.float32])
@pytest.mark.parametrize("bits", [8, 4])
def test_layer_matches_its_dequantized_weight_and_stays_near_the_float_layer(
    n: int, k: int, group: int, int8_path: str, int4_path: str, dtype: torch.dtype, bits: int
) -> None:
    linear = _linear(n, k)
    layer: Int8Linear | Int4Linear
    if bits == 8:
        layer, path, bound = Int8Linear.from_linear(linear, compute_dtype=dtype), int8_path, 0.02
    else:
        layer = Int4Linear.from_linear(linear, group_size=group, compute_dtype=dtype)
        path, bound = int4_path, 0.12
    assert layer.kernel == path
    x = torch.randn(2, 3, k)  # leading batch dims
    out = layer(x)
    assert out.shape == (2, 3, n) and out.dtype == x.dtype
    weight = layer.dequantize(dtype)
    assert weight.shape == (n, k)
    reference = F.linear(x.to(dtype), weight, layer.bias).float()
    # Exact up to the kernel's rounding: float32 accumulation, then one bf16 rounding.
    tolerance = 1e-5 if dtype == torch.float32 else 2**-7
    assert (out - reference).abs().max() <= tolerance * reference.abs().max()
    with torch.no_grad():
        assert _relative(out, linear(x)) < bound


@pytest.mark.usefixtures("aten_only")
@pytest.mark.parametrize("bits", [8, 4])
def test_many_rows_zero_rows_and_no_bias(bits: int) -> None:
    linear = _linear(64, 128, bias=False)
    layer = (
        Int8Linear.from_linear(linear, compute_dtype=BF16)
        if bits == 8
        else Int4Linear.from_linear(linear, group_size=32, compute_dtype=BF16)
    )
    assert layer.bias is None
    x = torch.randn(100, 128)  # above the row count where int8 dequantizes instead
    many = layer(x)
    one_by_one = torch.cat([layer(row[None]) for row in x[:4]])
    assert (many[:4] - one_by_one).abs().max() <= 2**-6 * one_by_one.abs().max()
    assert layer(torch.randn(0, 128)).shape == (0, 64)


@pytest.mark.usefixtures("aten_only")
@pytest.mark.parametrize("bits", [8, 4])
def test_missing_or_failing_kernels_fall_back_to_dequantizing(
    bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    linear, x = _linear(64, 128), torch.randn(3, 128)

    def build() -> Int8Linear | Int4Linear:
        if bits == 8:
            return Int8Linear.from_linear(linear, compute_dtype=BF16)
        return Int4Linear.from_linear(linear, group_size=32, compute_dtype=BF16)

    expected = build()(x)
    with monkeypatch.context() as patch:
        patch.setattr(quant_linear, "_kernel_usable", lambda name, device: False)
        missing = build()
    assert missing.kernel == DEQUANTIZE
    failing = build()
    name = "_weight_int8pack_mm" if bits == 8 else "_weight_int4pack_mm_for_cpu"

    def broken(*args: object) -> torch.Tensor:
        raise RuntimeError("no kernel for you")

    monkeypatch.setattr(torch.ops.aten, name, broken)
    for layer in (missing, failing):
        assert (layer(x) - expected).abs().max() <= 2**-6 * expected.abs().max()
    assert failing.kernel == DEQUANTIZE


@pytest.mark.usefixtures("aten_only")
def test_int4_codes_survive_the_cpu_packing_and_back() -> None:
    weight = torch.randn(336, 64)  # one 256-row slice plus an 80-row tail (blocks of 64 and 16)
    codes, _ = quantize_int4(weight, 32, BF16)
    layer = Int4Linear.from_linear(_linear(336, 64), group_size=32, compute_dtype=BF16)
    assert layer.kernel == INT4_KERNEL
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
    assert torch.equal(unpack_kernel_layout(packed, 336, 64), codes)


def test_int4_scale_and_zero_follow_the_kernel_convention() -> None:
    # w = (q - 8) * scale + zero with zero = min + 8 * scale: a group's extremes land on q = 0, 15.
    weight = torch.linspace(-1.0, 2.0, 64)[None].repeat(16, 1)
    codes, scales_and_zeros = quantize_int4(weight, 32, torch.float32)
    assert scales_and_zeros.shape == (2, 16, 2)  # [K / group, N, (scale, zero)]
    scale, zero = scales_and_zeros[0, 0].tolist()
    assert math.isclose(scale, float(weight[0, 31] - weight[0, 0]) / 15, rel_tol=1e-6)
    assert math.isclose(zero, -1 + 8 * scale, rel_tol=1e-6)
    assert codes[0, 0] == 0 and codes[0, 31] == 15
    # The kernel itself, fed the identity, returns the dequantized weight W^T.
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
    dequantized = torch.ops.aten._weight_int4pack_mm_for_cpu(
        torch.eye(64), packed, 32, scales_and_zeros
    )
    grouped = (codes.view(16, 2, 32) - 8) * scales_and_zeros[..., 0].T[..., None]
    expected = (grouped + scales_and_zeros[..., 1].T[..., None]).view(16, 64)
    assert torch.allclose(dequantized.T, expected, atol=1e-6)
    assert (expected - weight).abs().max() <= scale / 2 + 1e-6


def test_models_keep_the_int4_kernel_with_a_smaller_group_where_k_asks_for_it() -> None:
    assert int4_group_for(1536, 128) == 128
    assert int4_group_for(576, 128) == 64  # SmolLM2's hidden size
    assert int4_group_for(96, 256) == 32
    assert int4_group_for(80, 32) == 32  # no kernel group divides 80: dequantize path
    model = load_model("deep-tiny")  # K: 64 hidden, 32 q_lora and experts, 128 dense MLP and MTP
    report = quantize_model(model, "int4", group_size=128)
    assert report.group_size == 128 and report.group_sizes == {64: 69, 32: 31, 128: 2}
    int4_path = TWINCORE_INT4 if kernels.available() else INT4_KERNEL  # same shapes fit both
    assert report.kernel_paths == {int4_path: 98, DEQUANTIZE: 4}  # kv_a_proj: N = 24


def _gqa_tied() -> Transformer:
    """A Qwen2-style toy: GQA with Q/K/V biases and an output head tied to the embedding."""
    config = config_from_dict(
        {
            "name": "gqa-tied", "attention": "gqa", "vocab_size": 256, "hidden_size": 64,
            "num_layers": 2, "num_heads": 4, "num_kv_heads": 2, "head_dim": 16,
            "intermediate_size": 128, "qkv_bias": True, "tie_word_embeddings": True,
        }
    )  # fmt: skip
    return init_random(config, seed=0)


def _deep_tiny() -> Transformer:
    return load_model("deep-tiny")


def _logits(model: Transformer, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, model.config.vocab_size, (2, 10), generator=generator)
    with torch.inference_mode():
        logits: torch.Tensor = model(tokens, torch.arange(10).expand(2, -1))
    return logits.float()


@pytest.mark.parametrize(("mode", "bound"), [("none", 0.02), ("int8", 0.05), ("int4", 0.25)])
def test_deep_tiny_quantized_in_place_keeps_mla_and_router_float(mode: str, bound: float) -> None:
    reference = _logits(load_model("deep-tiny"))
    model = load_model("deep-tiny")
    report = quantize_model(model, mode, group_size=32)  # type: ignore[arg-type]
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if mode != "none":
        assert {name.rsplit(".", 1)[-1] for name, _ in linears} == {"kv_b_proj"}
    assert len(report.kept_float) == 4  # three layers and the MTP block
    assert all(m.weight.dtype == BF16 for _, m in linears)
    for module in model.modules():
        if isinstance(module, Gate):
            assert module.weight.dtype == torch.float32
            assert module.e_score_correction_bias.dtype == torch.float32
    assert model.model.embed_tokens.weight.dtype == BF16
    assert _relative(_logits(model), reference) < bound
    if mode != "none":
        quantized = [m for m in model.modules() if isinstance(m, Int8Linear | Int4Linear)]
        assert report.quantized_layers == len(quantized) == sum(report.kernel_paths.values())


def test_weight_memory_ratios() -> None:
    fp32 = weight_bytes(load_model("deep-tiny"))
    ratios = {}
    for mode in ("int8", "int4"):
        model = load_model("deep-tiny")
        report = quantize_model(model, mode, group_size=32)
        assert report.bytes_before == fp32 and report.bytes_after == weight_bytes(model)
        ratios[mode] = report.linear_ratio
    # int8: 1 byte per weight + a bf16 scale per row; int4: half a byte + 4 bytes per 32.
    assert 0.25 < ratios["int8"] < 0.27
    assert 0.15 < ratios["int4"] < 0.16


def test_tied_head_is_quantized_as_its_own_copy() -> None:
    model = _gqa_tied()
    embedding = model.model.embed_tokens.weight.detach().clone()
    before = weight_bytes(model)
    assert before == sum(p.numel() * 4 for p in model.parameters())  # the tie counted once
    quantize_model(model, "int8")
    assert isinstance(model.get_submodule("lm_head"), Int8Linear)
    assert torch.equal(model.model.embed_tokens.weight.float(), embedding.to(BF16).float())
    assert model.get_submodule("model.layers.0.self_attn.q_proj").bias is not None


@pytest.mark.parametrize(
    ("make", "mode", "group"),
    [
        pytest.param(_deep_tiny, "int8", 128, id="deep-tiny-int8"),
        pytest.param(_deep_tiny, "int4", 32, id="deep-tiny-int4-32"),
        pytest.param(_deep_tiny, "int4", 256, id="deep-tiny-int4-256"),  # groups of 32..128
        pytest.param(_gqa_tied, "int4", 32, id="gqa-tied-int4"),
        pytest.param(_gqa_tied, "none", 128, id="gqa-tied-none"),  # the tied head stored once
    ],
)
def test_save_and_load_give_identical_logits(
    make: Callable[[], Transformer], mode: str, group: int, tmp_path: Path
) -> None:
    model = make()
    quantize_model(model, mode, group_size=group)  # type: ignore[arg-type]
    save_quantized(model, tmp_path / "q", source="test")
    loaded = load_quantized(tmp_path / "q")
    assert torch.equal(_logits(loaded), _logits(model))
    assert weight_bytes(loaded) == weight_bytes(model)
    # The int8/int4 CPU kernels crash on tensors that are not 64-byte aligned (as loaded).
    assert all(t.data_ptr() % 64 == 0 for t in loaded.state_dict().values() if t.numel())
    paths = [(type(m), m.kernel) for m in model.modules() if isinstance(m, Int8Linear | Int4Linear)]
    assert paths == [
        (type(m), m.kernel) for m in loaded.modules() if isinstance(m, Int8Linear | Int4Linear)
    ]


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quantization mode"):
        quantize_model(load_model("deep-tiny"), "int2")  # type: ignore[arg-type]


def test_perplexity_scores_every_token_once_whatever_the_windows() -> None:
    model = load_model("deep-tiny")
    tokens = torch.randint(0, 512, (40,), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        log_probs = model(tokens[None], torch.arange(40)[None])[0].float().log_softmax(-1)
    full = math.exp(-float(log_probs[:-1].gather(1, tokens[1:, None]).mean()))
    assert math.isclose(perplexity(model, tokens, window=64), full, rel_tol=1e-5)
    # Shorter windows see less context, so values differ a little but stay finite and close.
    for window, stride in ((16, 8), (16, 16), (10, 3)):
        assert math.isclose(
            perplexity(model, tokens, window=window, stride=stride), full, rel_tol=0.2
        )
    with pytest.raises(ValueError, match="stride"):
        perplexity(model, tokens, window=8, stride=9)


def test_eval_text_ships_with_the_package() -> None:
    text = eval_text()
    assert text.count("Question:") == 40 and "#### 72" in text and "<<" not in text
