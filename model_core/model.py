"""The model family in one file: DeepSeek-V3 / Kimi K2 (MLA + DeepSeekMoE + MTP) and the dense
GQA/SwiGLU path of Llama/Qwen2 checkpoints. Configs differ, code does not.

The model knows nothing of cache policy or sampling: `forward` takes token ids, their positions
and an optional cache object (see `KVCache`), and returns logits. Parameter names equal Hugging
Face's, so checkpoints load with a plain name map.

Shapes: B batch, S new tokens, T cached tokens, H heads, D head width, C kv_lora_rank,
R qk_rope_head_dim, E routed experts, K experts per token, N = B*S tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F  # noqa: N812 (the universal alias)
from torch import Tensor, nn

from twincore.model_core.config import ModelConfig, RopeScaling


class KVCache(Protocol):
    """What attention needs from a cache; the engine decides layout, paging and eviction."""

    def update(
        self, layer: int, positions: Tensor, entries: tuple[Tensor, ...]
    ) -> tuple[tuple[Tensor, ...], Tensor]:
        """Store this step's per-token entries and return the sequences' full history.

        positions: [B, S]; entries: tensors [B, S, ...] (MLA absorbed: c_kv [B,S,C], k_rope
        [B,S,R]; MLA naive and GQA: k [B,S,H,D], v [B,S,H,Dv]).
        Returns the entries [B, T, ...] and the positions of those T slots [B, T] (-1 = empty).
        """
        ...


class RMSNorm(nn.Module):
    """Root-mean-square norm, computed in float32 whatever the activation dtype."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        # x: [..., dim]; one fused kernel, as HF does: normalise in float32, scale in x's dtype
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps).to(x.dtype)
        return self.weight * normed


def yarn_mscale(factor: float, mscale: float = 1.0) -> float:
    """YaRN's attention temperature: 0.1 * mscale * ln(factor) + 1 (1 when not extended)."""
    return 1.0 if factor <= 1 else 0.1 * mscale * math.log(factor) + 1.0


def _yarn_inv_freq(dim: int, theta: float, scaling: RopeScaling) -> Tensor:
    """Per-pair inverse frequencies [dim/2] blending interpolation and extrapolation (YaRN)."""

    def correction_dim(rotations: float) -> float:
        orig = scaling.original_max_position_embeddings
        return dim * math.log(orig / (rotations * 2 * math.pi)) / (2 * math.log(theta))

    low = float(max(math.floor(correction_dim(scaling.beta_fast)), 0))
    high = float(min(math.ceil(correction_dim(scaling.beta_slow)), dim - 1))
    if low == high:
        high += 0.001  # avoid a zero-width ramp
    cpu = torch.device("cpu")  # explicit: stays real when the model is built on "meta"
    ramp = ((torch.arange(dim // 2, dtype=torch.float32, device=cpu) - low) / (high - low)).clamp(
        0, 1
    )
    base = theta ** (torch.arange(0, dim, 2, dtype=torch.float32, device=cpu) / dim)
    extrapolated, interpolated = 1.0 / base, 1.0 / (scaling.factor * base)
    return interpolated * ramp + extrapolated * (1 - ramp)


class Rotary(nn.Module):
    """Rotary position tables; YaRN-extended when the config says so."""

    inv_freq: Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        dim, theta, scaling = config.rotary_dim, config.rope_theta, config.rope_scaling
        cpu = torch.device("cpu")
        if scaling is None:
            inv_freq = 1.0 / theta ** (
                torch.arange(0, dim, 2, dtype=torch.float32, device=cpu) / dim
            )
            self.attention_factor = 1.0
        else:
            inv_freq = _yarn_inv_freq(dim, theta, scaling)
            if scaling.mscale and scaling.mscale_all_dim:
                self.attention_factor = yarn_mscale(scaling.factor, scaling.mscale) / yarn_mscale(
                    scaling.factor, scaling.mscale_all_dim
                )
            else:
                self.attention_factor = yarn_mscale(scaling.factor)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.interleave = config.rope_interleave

    def forward(self, positions: Tensor) -> Rope:
        """The rotation tables of `positions` [B, S], computed once per forward pass."""
        angles = positions.float()[..., None] * self.inv_freq
        cos, sin = angles.cos() * self.attention_factor, angles.sin() * self.attention_factor
        return Rope(cos[:, :, None, :], sin[:, :, None, :], self.interleave)  # [B, S, 1, D/2]


@dataclass(frozen=True)
class Rope:
    """cos/sin of one pass's positions, [B, S, 1, D/2] (broadcast over heads), and the layout."""

    cos: Tensor
    sin: Tensor
    interleave: bool

    def rotate(self, x: Tensor) -> Tensor:
        """Rotate x: [B, S, H, D] by the angles of its positions."""
        x32, cos, sin = x.float(), self.cos, self.sin
        if self.interleave:  # pairs (x0, x1), (x2, x3), ... as DeepSeek stores them
            even, odd = x32[..., 0::2], x32[..., 1::2]
            out = torch.stack((even * cos - odd * sin, odd * cos + even * sin), dim=-1).flatten(-2)
        else:  # halves, as Llama/Qwen2 store them
            first, second = x32.chunk(2, dim=-1)
            out = torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)
        return out.to(x.dtype)


def _attend(q: Tensor, k: Tensor, v: Tensor, q_pos: Tensor, k_pos: Tensor, scale: float) -> Tensor:
    """Causal attention by position. q: [B,S,H,D], k: [B,T,Hkv,D], v: [B,T,Hkv,Dv] -> [B,S,H,Dv].

    Hkv may divide H (grouped-query attention): SDPA shares each K/V head across its group.
    """
    mask = (k_pos[:, None, None, :] <= q_pos[:, None, :, None]) & (k_pos[:, None, None, :] >= 0)
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2),
        k.transpose(1, 2),
        v.transpose(1, 2),
        attn_mask=mask,
        scale=scale,
        enable_gqa=k.shape[2] != q.shape[2],
    )
    return out.transpose(1, 2)


class MLA(nn.Module):
    """Multi-head latent attention with a naive path and an absorbed path.

    naive: expand the latent into per-head K/V and cache those (H*(Dqk+Dv) per token).
    absorbed: cache only the normalised latent c_kv [C] and the shared rope key [R]; W_UK is
    folded into the query and W_UV into the output, so attention runs in the latent space.
    """

    def __init__(self, config: ModelConfig, absorb: bool) -> None:
        super().__init__()
        c = config
        self.n_heads, self.kv_lora_rank = c.num_heads, c.kv_lora_rank
        self.nope_dim, self.rope_dim, self.v_dim = (
            c.qk_nope_head_dim,
            c.qk_rope_head_dim,
            c.v_head_dim,
        )
        self.absorb = absorb
        q_out = c.num_heads * c.qk_head_dim
        if c.q_lora_rank is None:
            self.q_proj = nn.Linear(c.hidden_size, q_out, bias=False)
        else:
            self.q_a_proj = nn.Linear(c.hidden_size, c.q_lora_rank, bias=False)
            self.q_a_layernorm = RMSNorm(c.q_lora_rank, c.rms_norm_eps)
            self.q_b_proj = nn.Linear(c.q_lora_rank, q_out, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(
            c.hidden_size, c.kv_lora_rank + c.qk_rope_head_dim, bias=False
        )
        self.kv_a_layernorm = RMSNorm(c.kv_lora_rank, c.rms_norm_eps)
        self.kv_b_proj = nn.Linear(
            c.kv_lora_rank, c.num_heads * (c.qk_nope_head_dim + c.v_head_dim), bias=False
        )
        self.o_proj = nn.Linear(c.num_heads * c.v_head_dim, c.hidden_size, bias=False)
        self.scale = c.qk_head_dim**-0.5
        if c.rope_scaling is not None and c.rope_scaling.mscale_all_dim:
            self.scale *= yarn_mscale(c.rope_scaling.factor, c.rope_scaling.mscale_all_dim) ** 2

    def forward(
        self, x: Tensor, positions: Tensor, rope: Rope, cache: KVCache | None, layer: int
    ) -> Tensor:
        # x: [B, S, hidden] -> [B, S, hidden]
        b, s, _ = x.shape
        if hasattr(self, "q_proj"):
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(b, s, self.n_heads, self.nope_dim + self.rope_dim)
        q_nope, q_rope = q.split([self.nope_dim, self.rope_dim], dim=-1)
        latent, k_rope = self.kv_a_proj_with_mqa(x).split(
            [self.kv_lora_rank, self.rope_dim], dim=-1
        )
        latent = self.kv_a_layernorm(latent)  # c_kv: [B, S, C]
        q_rope = rope.rotate(q_rope)  # [B, S, H, R]
        k_rope = rope.rotate(k_rope[:, :, None, :])[:, :, 0]  # [B, S, R], shared by heads
        out = (
            self._absorbed(q_nope, q_rope, latent, k_rope, positions, cache, layer)
            if self.absorb
            else self._naive(q_nope, q_rope, latent, k_rope, positions, cache, layer)
        )
        projected: Tensor = self.o_proj(out.reshape(b, s, self.n_heads * self.v_dim))
        return projected

    def _naive(
        self, q_nope: Tensor, q_rope: Tensor, latent: Tensor, k_rope: Tensor,
        positions: Tensor, cache: KVCache | None, layer: int,
    ) -> Tensor:  # fmt: skip
        b, s = latent.shape[:2]
        kv = self.kv_b_proj(latent).view(b, s, self.n_heads, self.nope_dim + self.v_dim)
        k_nope, v = kv.split([self.nope_dim, self.v_dim], dim=-1)
        k = torch.cat((k_nope, k_rope[:, :, None, :].expand(-1, -1, self.n_heads, -1)), dim=-1)
        q = torch.cat((q_nope, q_rope), dim=-1)  # [B, S, H, Dqk]
        k_pos = positions
        if cache is not None:
            (k, v), k_pos = cache.update(layer, positions, (k, v))
        return _attend(q, k, v, positions, k_pos, self.scale)  # [B, S, H, Dv]

    def _absorbed(
        self, q_nope: Tensor, q_rope: Tensor, latent: Tensor, k_rope: Tensor,
        positions: Tensor, cache: KVCache | None, layer: int,
    ) -> Tensor:  # fmt: skip
        k_pos = positions
        if cache is not None:
            (latent, k_rope), k_pos = cache.update(layer, positions, (latent, k_rope))
        w_kv = self.kv_b_proj.weight.view(
            self.n_heads, self.nope_dim + self.v_dim, self.kv_lora_rank
        )
        w_uk, w_uv = w_kv[:, : self.nope_dim], w_kv[:, self.nope_dim :]  # [H, Dn, C], [H, Dv, C]
        q_latent = torch.einsum("bshd,hdc->bshc", q_nope, w_uk)  # [B, S, H, C]
        scores = torch.einsum("bshc,btc->bsht", q_latent, latent) + torch.einsum(
            "bshr,btr->bsht", q_rope, k_rope
        )
        mask = (k_pos[:, None, None, :] <= positions[:, :, None, None]) & (
            k_pos[:, None, None, :] >= 0
        )
        scores = (scores.float() * self.scale).masked_fill(~mask, float("-inf"))
        probs = scores.softmax(dim=-1).to(latent.dtype)  # [B, S, H, T]
        out_latent = torch.einsum("bsht,btc->bshc", probs, latent)
        return torch.einsum("bshc,hdc->bshd", out_latent, w_uv)  # [B, S, H, Dv]


class GQA(nn.Module):
    """Grouped-query attention of Llama/Qwen2 checkpoints (Qwen2: bias on Q/K/V)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        self.n_heads, self.n_kv, self.head_dim = c.num_heads, c.num_kv_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.num_heads * c.head_dim, bias=c.qkv_bias)
        self.k_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=c.qkv_bias)
        self.v_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=c.qkv_bias)
        self.o_proj = nn.Linear(c.num_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(
        self, x: Tensor, positions: Tensor, rope: Rope, cache: KVCache | None, layer: int
    ) -> Tensor:
        # x: [B, S, hidden] -> [B, S, hidden]
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(b, s, self.n_kv, self.head_dim)
        v = self.v_proj(x).view(b, s, self.n_kv, self.head_dim)
        q, k = rope.rotate(q), rope.rotate(k)
        k_pos = positions
        if cache is not None:
            (k, v), k_pos = cache.update(layer, positions, (k, v))
        out = _attend(q, k, v, positions, k_pos, self.head_dim**-0.5)
        projected: Tensor = self.o_proj(out.reshape(b, s, self.n_heads * self.head_dim))
        return projected


class MLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) * up(x))."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
        return out


class Gate(nn.Module):
    """DeepSeekMoE router: scores, optional group limit, top-k, normalisation, scaling.

    The correction bias (noaux_tc) only steers which experts are chosen; the weights come
    from the unbiased scores.
    """

    e_score_correction_bias: Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        self.top_k, self.n_group, self.topk_group = c.num_experts_per_tok, c.n_group, c.topk_group
        self.scoring, self.method = c.scoring_func, c.topk_method
        self.normalize, self.scaling = c.norm_topk_prob, c.routed_scaling_factor
        self.weight = nn.Parameter(torch.empty(c.n_routed_experts, c.hidden_size))
        if self.method == "noaux_tc":
            self.register_buffer("e_score_correction_bias", torch.zeros(c.n_routed_experts))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        # x: [N, hidden] -> weights [N, K] (float32), expert indices [N, K]
        logits = F.linear(x.float(), self.weight.float())  # [N, E]
        scores = logits.sigmoid() if self.scoring == "sigmoid" else logits.softmax(dim=-1)
        choice = scores + self.e_score_correction_bias if self.method == "noaux_tc" else scores
        if self.n_group > 1 and self.method != "greedy":
            grouped = choice.view(x.shape[0], self.n_group, -1)  # [N, G, E/G]
            if self.method == "noaux_tc":
                group_scores = grouped.topk(2, dim=-1).values.sum(dim=-1)
            else:
                group_scores = grouped.amax(dim=-1)
            keep = group_scores.topk(self.topk_group, dim=-1).indices  # [N, topk_group]
            group_mask = torch.zeros_like(group_scores, dtype=torch.bool).scatter_(1, keep, True)
            choice = grouped.masked_fill(~group_mask[..., None], float("-inf")).flatten(1)
        indices = choice.topk(self.top_k, dim=-1).indices
        weights = scores.gather(1, indices)
        if self.normalize:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        return weights * self.scaling, indices


class MoE(nn.Module):
    """Routed experts plus always-on shared experts; tokens are dispatched grouped by expert."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        self.gate = Gate(c)
        self.experts = nn.ModuleList(
            MLP(c.hidden_size, c.moe_intermediate_size) for _ in range(c.n_routed_experts)
        )
        self.shared_experts = (
            MLP(c.hidden_size, c.moe_intermediate_size * c.n_shared_experts)
            if c.n_shared_experts
            else None
        )
        self.last_indices: Tensor | None = None  # routing of the last call, for inspection

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, S, hidden] -> [B, S, hidden]
        flat = x.reshape(-1, x.shape[-1])  # [N, hidden]
        weights, indices = self.gate(flat)  # [N, K] each
        self.last_indices = indices
        # Sort the N*K (token, expert) pairs by expert so each expert runs once on its batch.
        order = indices.flatten().argsort(stable=True)
        token_of = order // indices.shape[1]
        counts = torch.bincount(indices.flatten(), minlength=len(self.experts)).tolist()
        routed = flat[token_of]
        outputs = torch.empty_like(routed)
        start = 0
        for expert, count in zip(self.experts, counts, strict=True):
            if count:
                outputs[start : start + count] = expert(routed[start : start + count])
                start += count
        outputs = outputs * weights.flatten()[order, None].to(outputs.dtype)
        out = torch.zeros_like(flat).index_add_(0, token_of, outputs)
        if self.shared_experts is not None:
            out = out + self.shared_experts(flat)
        return out.view_as(x)


class Block(nn.Module):
    """Pre-norm decoder layer: attention then feed-forward, each around a residual."""

    def __init__(self, config: ModelConfig, layer: int, absorb: bool) -> None:
        super().__init__()
        self.layer = layer
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn: MLA | GQA = (
            MLA(config, absorb) if config.attention == "mla" else GQA(config)
        )
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp: MoE | MLP = (
            MoE(config)
            if config.is_moe_layer(layer)
            else MLP(config.hidden_size, config.intermediate_size)
        )

    def forward(self, x: Tensor, positions: Tensor, rope: Rope, cache: KVCache | None) -> Tensor:
        # x: [B, S, hidden]
        x = x + self.self_attn(self.input_layernorm(x), positions, rope, cache, self.layer)
        out: Tensor = x + self.mlp(self.post_attention_layernorm(x))
        return out


class MTP(nn.Module):
    """DeepSeek-V3 multi-token prediction module: predicts the token after next.

    Input: the previous depth's hidden state at i and the embedding of token i+1 (both
    normalised), projected back to the model width and run through one decoder block.
    """

    def __init__(self, config: ModelConfig, layer: int, absorb: bool) -> None:
        super().__init__()
        h = config.hidden_size
        self.enorm = RMSNorm(h, config.rms_norm_eps)
        self.hnorm = RMSNorm(h, config.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * h, h, bias=False)
        self.block = Block(config, layer, absorb)
        self.norm = RMSNorm(h, config.rms_norm_eps)


class DecoderStack(nn.Module):
    """Embedding, decoder layers and final norm (named `model` to match HF parameter names)."""

    def __init__(self, config: ModelConfig, absorb: bool) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(Block(config, i, absorb) for i in range(config.num_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class Transformer(nn.Module):
    """A causal language model of the family; `forward` maps token ids to next-token logits."""

    def __init__(self, config: ModelConfig, *, absorb_mla: bool = True) -> None:
        super().__init__()
        self.config = config
        self.rotary = Rotary(config)
        self.model = DecoderStack(config, absorb_mla)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.mtp = nn.ModuleList(
            MTP(config, config.num_layers + k, absorb_mla) for k in range(config.num_mtp_layers)
        )

    def forward(
        self,
        tokens: Tensor,
        positions: Tensor,
        cache: KVCache | None = None,
        *,
        last_only: bool = False,
    ) -> Tensor:
        """tokens, positions: [B, S] -> logits [B, S, V] (or [B, 1, V] with last_only)."""
        hidden = self.hidden_states(tokens, positions, cache)
        if last_only:
            hidden = hidden[:, -1:]
        logits: Tensor = self.lm_head(self.model.norm(hidden))
        return logits

    def hidden_states(
        self, tokens: Tensor, positions: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        """The residual stream after the last layer, before the final norm: [B, S, hidden]."""
        x: Tensor = self.model.embed_tokens(tokens)
        rope = self.rotary(positions)
        for block in self.model.layers:
            x = block(x, positions, rope, cache)
        return x

    def mtp_forward(
        self,
        hidden: Tensor,
        next_tokens: Tensor,
        positions: Tensor,
        cache: KVCache | None = None,
        depth: int = 0,
    ) -> tuple[Tensor, Tensor]:
        """One MTP depth. hidden: [B,S,hidden] of depth-1 at i; next_tokens: [B,S] tokens i+1.

        Returns logits for tokens i+2 [B, S, V] and this depth's hidden state [B, S, hidden].
        """
        module = self.mtp[depth]
        assert isinstance(module, MTP)
        embedded = module.enorm(self.model.embed_tokens(next_tokens))
        x = module.eh_proj(torch.cat((embedded, module.hnorm(hidden)), dim=-1))
        x = module.block(x, positions, self.rotary(positions), cache)
        return self.lm_head(module.norm(x)), x
