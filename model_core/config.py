"""Model hyperparameters for the whole family: DeepSeek-V3 / Kimi K2 (MLA + DeepSeekMoE) and the
dense GQA/SwiGLU path of Llama/Qwen2 checkpoints, read from our presets or a Hugging Face config.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

PRESET_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class RopeScaling:
    """YaRN context extension as DeepSeek uses it (rope_type "yarn")."""

    factor: float
    """How much longer than pretraining the context may be."""
    original_max_position_embeddings: int
    """Context length the model was pretrained with."""
    beta_fast: float = 32.0
    """Rotations above which a dimension keeps its original frequency (extrapolation)."""
    beta_slow: float = 1.0
    """Rotations below which a dimension is fully interpolated."""
    mscale: float = 1.0
    """Attention temperature coefficient on the cos/sin tables."""
    mscale_all_dim: float = 0.0
    """Attention temperature coefficient applied to the softmax scale (DeepSeek's mscale)."""


@dataclass(frozen=True)
class ModelConfig:
    """Every hyperparameter one model of the family needs; unused groups keep their defaults."""

    name: str
    """Preset name or checkpoint directory this config came from."""
    attention: Literal["mla", "gqa"]
    """mla: DeepSeek multi-head latent attention; gqa: grouped-query attention (Llama, Qwen2)."""
    vocab_size: int
    """Rows of the embedding and of the output head."""
    hidden_size: int
    """Width of the residual stream."""
    num_layers: int
    """Decoder layers, not counting multi-token-prediction modules."""
    num_heads: int
    """Attention (query) heads."""
    intermediate_size: int
    """Hidden width of the dense SwiGLU MLP (dense layers and dense models)."""
    rms_norm_eps: float = 1e-6
    """Epsilon of every RMSNorm."""
    max_position_embeddings: int = 4096
    """Longest context the positions are defined for."""
    rope_theta: float = 10000.0
    """Base of the rotary frequencies."""
    rope_interleave: bool = False
    """True: rotate interleaved pairs (x0,x1),(x2,x3) (DeepSeek); False: rotate halves (Llama)."""
    rope_scaling: RopeScaling | None = None
    """YaRN scaling, or None for plain RoPE."""
    tie_word_embeddings: bool = False
    """Output head shares the embedding matrix (Qwen2 small models, SmolLM2)."""
    bos_token_id: int | None = None
    """Beginning-of-sequence token, if the tokenizer uses one."""
    eos_token_id: int | None = None
    """End-of-sequence token of the base model."""

    # Grouped-query attention (attention == "gqa").
    num_kv_heads: int = 0
    """Key/value heads shared by groups of query heads."""
    head_dim: int = 0
    """Per-head width of queries, keys and values."""
    qkv_bias: bool = False
    """Bias on the Q/K/V projections (Qwen2)."""

    # Multi-head latent attention (attention == "mla").
    q_lora_rank: int | None = None
    """Rank of the query down-projection; None projects queries directly (V2-Lite, Moonlight)."""
    kv_lora_rank: int = 0
    """Width of the compressed key/value latent c_kv that the absorbed cache stores."""
    qk_nope_head_dim: int = 0
    """Per-head query/key width without position information."""
    qk_rope_head_dim: int = 0
    """Per-head query width, and shared key width, that carries rotary position."""
    v_head_dim: int = 0
    """Per-head value width."""

    # DeepSeekMoE (n_routed_experts > 0).
    n_routed_experts: int = 0
    """Routed experts per MoE layer; 0 makes every layer dense."""
    n_shared_experts: int = 0
    """Always-active experts per MoE layer (fused into one MLP of n times the expert width)."""
    num_experts_per_tok: int = 0
    """Routed experts each token is sent to (top-k)."""
    moe_intermediate_size: int = 0
    """Hidden width of one expert."""
    first_k_dense: int = 0
    """The first k layers use the dense MLP instead of MoE."""
    moe_layer_freq: int = 1
    """After the dense layers, every n-th layer is MoE."""
    n_group: int = 1
    """Expert groups for group-limited routing (1: no group limit)."""
    topk_group: int = 1
    """Groups a token may route into."""
    scoring_func: Literal["sigmoid", "softmax"] = "sigmoid"
    """Gate nonlinearity: sigmoid (V3, K2) or softmax (V2)."""
    topk_method: Literal["noaux_tc", "greedy", "group_limited_greedy"] = "noaux_tc"
    """noaux_tc: bias-corrected selection, groups scored by their top-2 sum; greedy: plain top-k;
    group_limited_greedy: groups scored by their best expert."""
    norm_topk_prob: bool = True
    """Renormalise the selected experts' weights to sum to one."""
    routed_scaling_factor: float = 1.0
    """Multiplier on the routed experts' combined output."""

    num_mtp_layers: int = 0
    """Multi-token-prediction modules after the main model (DeepSeek-V3: 1)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    """Fields of the source config we do not use, kept for reference."""

    @property
    def is_moe(self) -> bool:
        return self.n_routed_experts > 0

    def is_moe_layer(self, layer: int) -> bool:
        """Whether decoder layer `layer` (0-based; MTP blocks count after the last) is MoE."""
        return (
            self.is_moe and layer >= self.first_k_dense and layer % max(self.moe_layer_freq, 1) == 0
        )

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def rotary_dim(self) -> int:
        """Width the rotary embedding acts on."""
        return self.qk_rope_head_dim if self.attention == "mla" else self.head_dim

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("extra")
        return data


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Build a config from our own JSON form (the presets' format)."""
    data = dict(data)
    if data.get("rope_scaling"):
        data["rope_scaling"] = RopeScaling(**data["rope_scaling"])
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown model config fields: {sorted(unknown)}")
    return ModelConfig(**data)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> ModelConfig:
    """One of the presets in model_core/configs (e.g. deepseek-v3, kimi-k2, deep-tiny)."""
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(preset_names())}")
    return config_from_dict({"name": name, **json.loads(path.read_text())})


def _rope_from_hf(hf: dict[str, Any]) -> tuple[float, RopeScaling | None]:
    # transformers 5 writes `rope_parameters`; original checkpoints write rope_theta + rope_scaling.
    params = dict(hf.get("rope_parameters") or {})
    theta = float(params.get("rope_theta", hf.get("rope_theta", 10000.0)))
    scaling = hf.get("rope_scaling") or params
    kind = scaling.get("rope_type", scaling.get("type", "default")) if scaling else "default"
    if kind in (None, "default"):
        return theta, None
    if kind != "yarn":
        raise ValueError(f"unsupported rope scaling {kind!r} (supported: yarn)")
    return theta, RopeScaling(
        factor=float(scaling["factor"]),
        original_max_position_embeddings=int(scaling["original_max_position_embeddings"]),
        beta_fast=float(scaling.get("beta_fast") or 32),
        beta_slow=float(scaling.get("beta_slow") or 1),
        mscale=float(scaling.get("mscale") or 1.0),
        mscale_all_dim=float(scaling.get("mscale_all_dim") or 0.0),
    )


def _first_id(value: Any) -> int | None:
    if isinstance(value, list):
        return int(value[0]) if value else None
    return None if value is None else int(value)


HF_MLA_TYPES = ("deepseek_v3", "kimi_k2", "deepseek_v2")
HF_GQA_TYPES = ("llama", "qwen2")


def config_from_hf(hf: dict[str, Any], name: str) -> ModelConfig:
    """Translate a Hugging Face config.json (deepseek_v3, kimi_k2, deepseek_v2, llama, qwen2)."""
    model_type = hf.get("model_type")
    if model_type not in HF_MLA_TYPES + HF_GQA_TYPES:
        raise ValueError(
            f"unsupported model_type {model_type!r}; supported: {HF_MLA_TYPES + HF_GQA_TYPES}"
        )
    theta, scaling = _rope_from_hf(hf)
    common: dict[str, Any] = {
        "name": name,
        "vocab_size": hf["vocab_size"],
        "hidden_size": hf["hidden_size"],
        "num_layers": hf["num_hidden_layers"],
        "num_heads": hf["num_attention_heads"],
        "intermediate_size": hf["intermediate_size"],
        "rms_norm_eps": hf.get("rms_norm_eps", 1e-6),
        "max_position_embeddings": hf.get("max_position_embeddings", 4096),
        "rope_theta": theta,
        "rope_scaling": scaling,
        "tie_word_embeddings": bool(hf.get("tie_word_embeddings", False)),
        "bos_token_id": _first_id(hf.get("bos_token_id")),
        "eos_token_id": _first_id(hf.get("eos_token_id")),
    }
    if model_type in HF_GQA_TYPES:
        heads = hf["num_attention_heads"]
        return ModelConfig(
            attention="gqa",
            num_kv_heads=hf.get("num_key_value_heads") or heads,
            head_dim=hf.get("head_dim") or hf["hidden_size"] // heads,
            qkv_bias=model_type == "qwen2" or bool(hf.get("attention_bias", False)),
            **common,
        )
    v2 = model_type == "deepseek_v2"
    return ModelConfig(
        attention="mla",
        rope_interleave=bool(hf.get("rope_interleave", True)),
        q_lora_rank=hf.get("q_lora_rank"),
        kv_lora_rank=hf["kv_lora_rank"],
        qk_nope_head_dim=hf["qk_nope_head_dim"],
        qk_rope_head_dim=hf["qk_rope_head_dim"],
        v_head_dim=hf["v_head_dim"],
        n_routed_experts=hf.get("n_routed_experts") or 0,
        n_shared_experts=hf.get("n_shared_experts") or 0,
        num_experts_per_tok=hf.get("num_experts_per_tok") or 0,
        moe_intermediate_size=hf.get("moe_intermediate_size") or 0,
        first_k_dense=hf.get("first_k_dense_replace") or 0,
        moe_layer_freq=hf.get("moe_layer_freq") or 1,
        n_group=hf.get("n_group") or 1,
        topk_group=hf.get("topk_group") or 1,
        scoring_func=hf.get("scoring_func", "softmax" if v2 else "sigmoid"),
        topk_method=hf.get("topk_method", "greedy" if v2 else "noaux_tc"),
        norm_topk_prob=bool(hf.get("norm_topk_prob", not v2)),
        routed_scaling_factor=float(hf.get("routed_scaling_factor", 1.0)),
        num_mtp_layers=hf.get("num_nextn_predict_layers") or 0,
        **common,
    )


def load_config(name_or_path: str | Path) -> ModelConfig:
    """A preset by name, or the config.json of a checkpoint directory."""
    path = Path(name_or_path)
    if path.is_dir():
        config_file = path / "config.json"
        if not config_file.is_file():
            raise ValueError(f"{path} has no config.json")
        return config_from_hf(json.loads(config_file.read_text()), name=str(path))
    if path.suffix == ".json" and path.is_file():
        return config_from_hf(json.loads(path.read_text()), name=str(path))
    return load_preset(str(name_or_path))


def to_hf_config(config: ModelConfig) -> dict[str, Any]:
    """The Hugging Face config.json of an MLA config (exports tiny presets to transformers)."""
    if config.attention != "mla":
        raise ValueError("to_hf_config exports MLA (deepseek_v3) configs only")
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": config.rope_theta}
    if config.rope_scaling is not None:
        rope = {"rope_type": "yarn", "rope_theta": config.rope_theta}
        rope.update(dataclasses.asdict(config.rope_scaling))
    return {
        "model_type": "deepseek_v3",
        "architectures": ["DeepseekV3ForCausalLM"],
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "moe_intermediate_size": config.moe_intermediate_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "num_key_value_heads": config.num_heads,
        "n_shared_experts": config.n_shared_experts,
        "n_routed_experts": config.n_routed_experts,
        "routed_scaling_factor": config.routed_scaling_factor,
        "kv_lora_rank": config.kv_lora_rank,
        "q_lora_rank": config.q_lora_rank,
        "qk_rope_head_dim": config.qk_rope_head_dim,
        "qk_nope_head_dim": config.qk_nope_head_dim,
        "v_head_dim": config.v_head_dim,
        "n_group": config.n_group,
        "topk_group": config.topk_group,
        "num_experts_per_tok": config.num_experts_per_tok,
        "first_k_dense_replace": config.first_k_dense,
        "norm_topk_prob": config.norm_topk_prob,
        "max_position_embeddings": config.max_position_embeddings,
        "rms_norm_eps": config.rms_norm_eps,
        "rope_parameters": rope,
        "rope_interleave": config.rope_interleave,
        "tie_word_embeddings": config.tie_word_embeddings,
        "num_nextn_predict_layers": config.num_mtp_layers,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
        "attention_bias": False,
    }
