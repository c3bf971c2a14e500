"""The model family in one file: DeepSeek-V3 / Kimi K2 (MLA + DeepSeekMoE + MTP) and the dense
GQA/SwiGLU path of Llama/Qwen2 checkpoints. Configs differ, code does not.

The model knows nothing of cache policy or sampling: `forward` takes token ids, their positions
and an optional cache object (`KVCache`, or `RowKVCache` for the engine's paged cache), and
returns logits. Parameter names equal Hugging Face's, so checkpoints load with a plain name map
(`fuse.fuse_projections` may later join q/k/v and gate/up for speed).

Shapes: B batch, S new tokens, T cached tokens, H heads, D head width, C kv_lora_rank,
R qk_rope_head_dim, E routed experts, K experts per token, N = B*S tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F  # noqa: N812 (the universal alias)
from torch import Tensor, nn
from typing_extensions import TypeIs

from twincore.model_core.config import ModelConfig, RopeScaling


class KVCache(Protocol):
    """A cache that returns the whole batch's history at once, padded (see `cache.DenseCache`)."""

    def update(
        self, layer: int, positions: Tensor, entries: tuple[Tensor, ...]
    ) -> tuple[tuple[Tensor, ...], Tensor]:
        """Store this step's per-token entries and return the sequences' full history.

        positions: [B, S]; entries: one tensor [B, S, W] (see `KVSplit` for what it holds).
        Returns the entries [B, T, W] and the positions of those T slots [B, T] (-1 = empty).
        """
        ...


@runtime_checkable
class RowKVCache(Protocol):
    """A cache that hands each row its history as a contiguous view of its own (the engine's
    paged cache): no padding, no mask for decode rows, no gather per layer."""

    def update_rows(
        self, layer: int, positions: Tensor, entries: tuple[Tensor, ...]
    ) -> list[tuple[Tensor, ...]]:
        """Store entries ([B, S, W],) at `positions` [B, S] and return per row b its entries
        ([T_b, W],) of positions 0 .. T_b - 1, where row b's new positions are the last S."""
        ...


Cache = KVCache | RowKVCache


def _is_row_cache(cache: Cache | None) -> TypeIs[RowKVCache]:
    """isinstance(cache, RowKVCache) at a fraction of its cost: a runtime-checkable Protocol's
    isinstance walks its members (~10 us), once per layer of every decode step."""
    return hasattr(type(cache), "update_rows")


class RMSNorm(nn.Module):
    """Root-mean-square norm, computed in float32 whatever the activation dtype."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        # x: [..., dim]; one operator: aten's rms_norm accumulates in float32 and rounds once
        # (HF rounds the normalised value to x's dtype before scaling: equal in float32, within
        # one bfloat16 ulp otherwise)
        if x.dtype == self.weight.dtype:
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
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
    sin_sign: Tensor

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
        # rotate(x) = x * cos + swap(x) * sin * sign, swap exchanging each pair's two members
        minus_plus = torch.tensor([-1.0, 1.0], device=cpu)
        sign = (
            minus_plus.repeat(dim // 2)
            if self.interleave
            else minus_plus.repeat_interleave(dim // 2)
        )
        self.register_buffer("sin_sign", sign, persistent=False)

    def forward(self, positions: Tensor) -> Rope:
        """The rotation tables of `positions` [B, S], computed once per forward pass."""
        angles = positions[..., None].float() * self.inv_freq  # [B, S, D/2]
        if self.interleave:  # pairs (x0, x1), (x2, x3), ... as DeepSeek stores them
            angles = angles.repeat_interleave(2, dim=-1)
        else:  # halves, as Llama/Qwen2 store them
            angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin() * self.sin_sign  # [B, S, D]
        if self.attention_factor != 1.0:
            cos, sin = cos * self.attention_factor, sin * self.attention_factor
        return Rope(cos[:, :, None, :], sin[:, :, None, :], self.interleave)  # [B, S, 1, D]


@dataclass(frozen=True)
class Rope:
    """cos and signed sin of one pass's positions, [B, S, 1, D] float32 (broadcast over heads)."""

    cos: Tensor
    sin: Tensor
    interleave: bool

    def rotate_(self, x: Tensor) -> None:
        """Rotate x: [B, S, H, D] in place (x may be a view into a projection's output).

        Computed in float32 (x * cos promotes) and rounded once into x's dtype: 4 operators
        for halves (mul, roll, addcmul, copy), 6 for pairs.
        """
        if self.interleave:
            swapped = x.view(*x.shape[:-1], -1, 2).flip(-1).flatten(-2)
        else:
            swapped = x.roll(x.shape[-1] // 2, dims=-1)
        x.copy_(torch.addcmul(x * self.cos, swapped, self.sin))


@dataclass(frozen=True)
class KVSplit:
    """Where a token's K and V heads sit in its cache entry (one row of width W, contiguous).

    GQA: K heads then V heads; MLA naive: per head K then V; MLA absorbed: one shared "head"
    whose K is the whole [c_kv, k_rope] row and whose V is its c_kv part.
    """

    heads: int
    k_dim: int
    v_dim: int
    head_stride: int
    v_offset: int

    def split(self, history: Tensor, *, add_batch: bool = False) -> tuple[Tensor, Tensor]:
        """history [..., T, W] -> K [..., heads, T, k_dim], V [..., heads, T, v_dim], views
        (one operator each); `add_batch` puts a leading batch dimension of one in front."""
        if history.stride(-1) != 1:
            history = history.contiguous()
        *lead, t, _ = history.shape
        strides = [*history.stride()[:-2], self.head_stride, history.stride(-2), 1]
        if add_batch:
            lead, strides = [1, *lead], [history.numel(), *strides]
        base = history.storage_offset()
        k = history.as_strided((*lead, self.heads, t, self.k_dim), strides, base)
        v = history.as_strided((*lead, self.heads, t, self.v_dim), strides, base + self.v_offset)
        return k, v


@dataclass
class Step:
    """What every layer of one forward pass shares: positions, rotary tables, the cache, and
    the attention masks built for them (once per pass, not per layer)."""

    positions: Tensor  # [B, S]
    rope: Rope
    cache: Cache | None
    _masks: dict[tuple[int, int, int], Tensor] = field(default_factory=dict)
    _batch_mask: tuple[Tensor, int, Tensor] | None = None
    _slots: Tensor | None = None

    def row_mask(self, new: int, total: int, group: int) -> Tensor | None:
        """Causal mask [new * group, total] of a row whose new tokens are its last `new`
        (query rows s-major, each repeated `group` times); None when one token is new."""
        if new == 1:
            return None
        key = (new, total, group)
        if key not in self._masks:
            ones = torch.ones(new, total, dtype=torch.bool, device=self.positions.device)
            self._masks[key] = ones.tril(total - new).repeat_interleave(group, dim=0)
        return self._masks[key]

    def slot_positions(self, slots: int) -> Tensor:
        """Positions [1, slots] of a padded history whose slot t holds position t."""
        if self._slots is None or self._slots.shape[1] != slots:
            self._slots = torch.arange(slots, device=self.positions.device)[None]
        return self._slots

    def batch_mask(self, k_pos: Tensor, group: int) -> Tensor:
        """Mask [B, 1, S * group, T] by position: slot t visible to query s when
        0 <= k_pos[t] <= q_pos[s] (k_pos: [B or 1, T])."""
        if self._batch_mask is not None:
            cached_pos, cached_group, mask = self._batch_mask
            if cached_pos is k_pos and cached_group == group:
                return mask
        q_pos = self.positions
        visible = (k_pos[:, None, None, :] <= q_pos[:, None, :, None]) & (
            k_pos[:, None, None, :] >= 0
        )
        mask = visible.repeat_interleave(group, dim=2)
        self._batch_mask = (k_pos, group, mask)  # holding k_pos keeps its identity unique
        return mask


PAD_ROWS_UP_TO = 192
"""Longest history (tokens) up to which a batch of rows attends as one padded batch. Measured
(1 thread, bf16, 8 rows, SmolLM2's 3 KV heads x 64), per layer, row by row vs padded: 200 vs
95 us at 64 tokens, 350 vs 390 us at 256, 1.3 vs 2.5 ms at 1024."""


def _attention(
    step: Step, layer: int, q: Tensor, entry: Tensor, kv: KVSplit, scale: float
) -> Tensor:
    """Causal attention of q [B, S, Hq, Dq] over the cached history plus this pass's entries
    [B, S, W] (stored into the cache first) -> [B, S, Hq * Dv].

    Query heads are grouped onto their K/V head (Hq = heads * G), so SDPA sees plain
    multi-head attention with G * S queries per head and no K/V is repeated. With a row cache
    each row attends over a view of its own history: bytes read per layer = the history once,
    no mask for decode rows, one SDPA call per row; rows all shorter than `PAD_ROWS_UP_TO`
    are copied into one padded batch instead.
    """
    b, s, hq, _ = q.shape
    group = hq // kv.heads
    cache = step.cache
    if _is_row_cache(cache):
        rows = [history for (history,) in cache.update_rows(layer, step.positions, (entry,))]
        if b == 1:
            return _attend_row(step, q, rows[0], kv, scale)
        longest = max(history.shape[0] for history in rows)
        if longest > PAD_ROWS_UP_TO:
            return torch.cat([
                _attend_row(step, q[i : i + 1], history, kv, scale)
                for i, history in enumerate(rows)
            ])  # fmt: skip
        # Short rows: one padded batch (a copy of B * T * W elements) beats B calls; the
        # padding sits past every query's position, so the causal mask hides it.
        history = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)  # [B, T, W]
        k_pos = step.slot_positions(longest)
    elif cache is None:
        history, k_pos = entry, step.positions
    else:
        (history,), k_pos = cache.update(layer, step.positions, (entry,))
    k, v = kv.split(history)  # [B, heads, T, D]
    mask = step.batch_mask(k_pos, group)
    out = F.scaled_dot_product_attention(
        _group_queries(q, kv.heads), k, v, attn_mask=mask, scale=scale
    )
    return _ungroup(out, s)


VERIFY_ROWS_UP_TO = 16
"""Up to this many new tokens, a row's queries attend one at a time, each exactly as a decode
step would (no mask, the history up to its position): speculative verification then computes
bit for bit what plain decoding computes, so greedy output cannot drift by rounding."""


def _attend_row(step: Step, q: Tensor, history: Tensor, kv: KVSplit, scale: float) -> Tensor:
    """One row: q [1, S, Hq, Dq] over its history [T, W] -> [1, S, Hq * Dv]; no mask when S = 1
    (a row's history ends at its query)."""
    s, group = q.shape[1], q.shape[2] // kv.heads
    if 1 < s <= VERIFY_ROWS_UP_TO:
        start = history.shape[0] - s
        return torch.cat(
            [
                _attend_row(step, q[:, j : j + 1], history[: start + j + 1], kv, scale)
                for j in range(s)
            ],
            dim=1,
        )
    k, v = kv.split(history, add_batch=True)  # [1, heads, T, D]
    mask = step.row_mask(s, history.shape[0], group)
    out = F.scaled_dot_product_attention(
        _group_queries(q, kv.heads), k, v, attn_mask=mask, scale=scale
    )  # [1, heads, G * S, Dv]
    return _ungroup(out, s)


def _group_queries(q: Tensor, heads: int) -> Tensor:
    """q [B, S, Hq, D] -> [B, heads, S * G, D], query rows s-major (a view when S == 1)."""
    b, s, hq, d = q.shape
    if s == 1:
        return q.view(b, heads, hq // heads, d)
    return q.view(b, s, heads, hq // heads, d).transpose(1, 2).reshape(b, heads, -1, d)


def _ungroup(out: Tensor, s: int) -> Tensor:
    """[B, heads, S * G, Dv] -> [B, S, heads * G * Dv] (a view when S == 1)."""
    b, heads, rows, dv = out.shape
    if s == 1:
        return out.view(b, 1, heads * rows * dv)
    return out.view(b, heads, s, rows // s, dv).transpose(1, 2).reshape(b, s, -1)


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
        latent_width = c.kv_lora_rank + c.qk_rope_head_dim
        self.latent_split = KVSplit(1, latent_width, c.kv_lora_rank, latent_width, 0)
        qk, per_head = c.qk_head_dim, c.qk_head_dim + c.v_head_dim
        self.full_split = KVSplit(c.num_heads, qk, c.v_head_dim, per_head, qk)

    def forward(self, x: Tensor, step: Step, layer: int) -> Tensor:
        # x: [B, S, hidden] -> [B, S, hidden]
        b, s, _ = x.shape
        if hasattr(self, "q_proj"):
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(b, s, self.n_heads, self.nope_dim + self.rope_dim)
        compressed = self.kv_a_proj_with_mqa(x)  # [B, S, C + R]
        step.rope.rotate_(q[..., self.nope_dim :])  # q_rope: [B, S, H, R]
        step.rope.rotate_(compressed[:, :, None, self.kv_lora_rank :])  # k_rope, shared by heads
        latent = self.kv_a_layernorm(compressed[..., : self.kv_lora_rank])  # c_kv: [B, S, C]
        k_rope = compressed[..., self.kv_lora_rank :]  # [B, S, R]
        if self.absorb:
            out = self._absorbed(q, latent, k_rope, step, layer)
        else:
            out = self._naive(q, latent, k_rope, step, layer)
        projected: Tensor = self.o_proj(out)
        return projected

    def _naive(self, q: Tensor, latent: Tensor, k_rope: Tensor, step: Step, layer: int) -> Tensor:
        # q: [B, S, H, Dqk], latent [B, S, C], k_rope [B, S, R] -> [B, S, H * Dv]
        b, s = latent.shape[:2]
        kv = self.kv_b_proj(latent).view(b, s, self.n_heads, self.nope_dim + self.v_dim)
        shared_rope = k_rope[:, :, None, :].expand(-1, -1, self.n_heads, -1)
        entry = torch.cat(
            (kv[..., : self.nope_dim], shared_rope, kv[..., self.nope_dim :]), dim=-1
        ).flatten(2)  # per head [k_nope, k_rope, v]: [B, S, H * (Dqk + Dv)]
        return _attention(step, layer, q, entry, self.full_split, self.scale)

    def _absorbed(
        self, q: Tensor, latent: Tensor, k_rope: Tensor, step: Step, layer: int
    ) -> Tensor:
        # q: [B, S, H, Dqk], latent [B, S, C], k_rope [B, S, R] -> [B, S, H * Dv]
        b, s = latent.shape[:2]
        entry = torch.cat((latent, k_rope), dim=-1)  # [B, S, C + R]
        w_kv = self.kv_b_proj.weight.view(
            self.n_heads, self.nope_dim + self.v_dim, self.kv_lora_rank
        )
        w_uk, w_uv = w_kv[:, : self.nope_dim], w_kv[:, self.nope_dim :]  # [H, Dn, C], [H, Dv, C]
        q_latent = torch.einsum("bshd,hdc->bshc", q[..., : self.nope_dim], w_uk)  # [B, S, H, C]
        q_joint = torch.cat((q_latent, q[..., self.nope_dim :]), dim=-1)  # [B, S, H, C + R]
        out_latent = _attention(step, layer, q_joint, entry, self.latent_split, self.scale)
        out_latent = out_latent.view(b, s, self.n_heads, self.kv_lora_rank)
        return torch.einsum("bshc,hdc->bshd", out_latent, w_uv).flatten(2)  # [B, S, H * Dv]


class GQA(nn.Module):
    """Grouped-query attention of Llama/Qwen2 checkpoints (Qwen2: bias on Q/K/V).

    `fuse.fuse_projections` may replace q/k/v_proj by one `qkv_proj` (rows Q, K, V).
    """

    qkv_proj: nn.Module | None

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        self.n_heads, self.n_kv, self.head_dim = c.num_heads, c.num_kv_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.num_heads * c.head_dim, bias=c.qkv_bias)
        self.k_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=c.qkv_bias)
        self.v_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=c.qkv_bias)
        self.register_module("qkv_proj", None)
        self.o_proj = nn.Linear(c.num_heads * c.head_dim, c.hidden_size, bias=False)
        d = c.head_dim
        self.kv_split = KVSplit(c.num_kv_heads, d, d, d, c.num_kv_heads * d)

    def forward(self, x: Tensor, step: Step, layer: int) -> Tensor:
        # x: [B, S, hidden] -> [B, S, hidden]
        b, s, _ = x.shape
        if self.qkv_proj is not None:
            qkv = self.qkv_proj(x)
        else:
            qkv = torch.cat((self.q_proj(x), self.k_proj(x), self.v_proj(x)), dim=-1)
        heads = qkv.view(b, s, self.n_heads + 2 * self.n_kv, self.head_dim)
        step.rope.rotate_(heads[:, :, : self.n_heads + self.n_kv])  # Q and K at once
        entry = qkv[..., self.n_heads * self.head_dim :]  # K, V: [B, S, 2 * Hkv * D]
        q = heads[:, :, : self.n_heads]
        out = _attention(step, layer, q, entry, self.kv_split, self.head_dim**-0.5)
        projected: Tensor = self.o_proj(out)
        return projected


class MLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) * up(x)).

    `fuse.fuse_projections` may replace gate/up_proj by one `gate_up_proj` (rows gate, up).
    """

    gate_up_proj: nn.Module | None

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.register_module("gate_up_proj", None)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.gate_up_proj is not None:
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        out: Tensor = self.down_proj(F.silu(gate) * up)
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

    def forward(self, x: Tensor, step: Step) -> Tensor:
        # x: [B, S, hidden]
        x = x + self.self_attn(self.input_layernorm(x), step, self.layer)
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
        cache: Cache | None = None,
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
        self, tokens: Tensor, positions: Tensor, cache: Cache | None = None
    ) -> Tensor:
        """The residual stream after the last layer, before the final norm: [B, S, hidden]."""
        x: Tensor = self.model.embed_tokens(tokens)
        step = Step(positions, self.rotary(positions), cache)
        for block in self.model.layers:
            x = block(x, step)
        return x

    def mtp_forward(
        self,
        hidden: Tensor,
        next_tokens: Tensor,
        positions: Tensor,
        cache: Cache | None = None,
        depth: int = 0,
    ) -> tuple[Tensor, Tensor]:
        """One MTP depth. hidden: [B,S,hidden] of depth-1 at i; next_tokens: [B,S] tokens i+1.

        Returns logits for tokens i+2 [B, S, V] and this depth's hidden state [B, S, hidden].
        """
        module = self.mtp[depth]
        assert isinstance(module, MTP)
        embedded = module.enorm(self.model.embed_tokens(next_tokens))
        x = module.eh_proj(torch.cat((embedded, module.hnorm(hidden)), dim=-1))
        x = module.block(x, Step(positions, self.rotary(positions), cache))
        return self.lm_head(module.norm(x)), x
