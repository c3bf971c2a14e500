"""Token sampling: per-request parameters, seeded generators and one batched sampling step.

Every row of a batch carries its own `SamplingParams`. The order is transformers' `generate`:
repetition penalty on the raw logits, then the repetition guard's bans (engine/repetition.py),
then temperature, top-k and top-p. Temperature 0 is greedy, the argmax of the penalised logits.
A sampled row draws one uniform number from its own CPU generator and inverts the CDF of its
filtered distribution on the logits' device, so a seeded request repeats its tokens run to run
whichever device holds the logits, and its random stream never depends on the other rows of
the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.repetition import RepetitionGuard

MAX_CANDIDATES = 16
MAX_STOP_STRINGS = 8
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True)
class SamplingParams:
    """How to pick the tokens of one request, and when to stop."""

    max_tokens: int = 256
    """Most tokens to generate, the prompt not counted."""
    temperature: float = 0.0
    """Softmax temperature; 0 always picks the most likely token (greedy)."""
    top_k: int = 0
    """Sample among the k most likely tokens only; 0 turns the filter off."""
    top_p: float = 1.0
    """Nucleus: sample among the smallest set of most likely tokens whose mass reaches top_p."""
    repetition_penalty: float = 1.0
    """CTRL / transformers penalty on every id in the prompt and output so far: positive logits
    are divided by it, negative ones multiplied; above 1 discourages repeats, 1 is off."""
    seed: int | None = None
    """Seed for reproducible sampling; None draws fresh randomness."""
    stop: tuple[str, ...] = ()
    """Strings that end generation; the returned text stops right before the first one."""
    stop_token_ids: tuple[int, ...] = ()
    """Token ids that end generation."""
    logprobs: bool = False
    """Return each chosen token's log-probability under the model's unprocessed distribution."""
    n: int = 1
    """Completions to generate for the prompt; candidate i samples from its own stream."""
    speculative: bool = True
    """Let the engine draft and verify tokens when it has a drafter (see engine/speculative.py);
    False opts this request out. The output distribution is the same either way."""
    repetition_guard: RepetitionGuard | None = None
    """Ban the token that would repeat a looping span or a line once more, and end a generation
    that keeps looping with finish_reason "repetition" (engine/repetition.py); None is off."""
    constraint: Constraint | None = None
    """The language the output must belong to (a JSON schema, a regex, a Lark grammar: see
    engine/constraint.py); the engine masks every token that would leave it. None is free text."""

    def validate(self) -> None:
        """Raise ValueError listing every field that is out of range."""
        checks = [
            (self.max_tokens >= 1, f"max_tokens must be at least 1, got {self.max_tokens}"),
            (
                0.0 <= self.temperature <= MAX_TEMPERATURE,
                f"temperature must be in [0, {MAX_TEMPERATURE}], got {self.temperature}",
            ),
            (self.top_k >= 0, f"top_k must be 0 (off) or positive, got {self.top_k}"),
            (0.0 < self.top_p <= 1.0, f"top_p must be in (0, 1], got {self.top_p}"),
            (
                0.0 < self.repetition_penalty < float("inf"),
                f"repetition_penalty must be positive, got {self.repetition_penalty}",
            ),
            (
                1 <= self.n <= MAX_CANDIDATES,
                f"n must be in [1, {MAX_CANDIDATES}], got {self.n}",
            ),
            (
                len(self.stop) <= MAX_STOP_STRINGS,
                f"at most {MAX_STOP_STRINGS} stop strings, got {len(self.stop)}",
            ),
            (
                all(isinstance(s, str) and s for s in self.stop),
                "stop strings must be non-empty strings",
            ),
            (
                all(i >= 0 for i in self.stop_token_ids),
                f"stop_token_ids must be non-negative, got {list(self.stop_token_ids)}",
            ),
        ]
        problems = [message for ok, message in checks if not ok]
        if self.repetition_guard is not None:
            problems += self.repetition_guard.problems()
        if self.constraint is not None:
            problems += self.constraint.problems()
        if problems:
            raise ValueError("invalid sampling parameters: " + "; ".join(problems))


def make_generator(params: SamplingParams, index: int = 0) -> torch.Generator | None:
    """The random stream of candidate `index` of a request; None when the request has no seed.

    Seed and index are hashed together: candidates of one request get different streams, and
    every run of the same request gets the same ones. The generator lives on the CPU because
    `sample` only draws one uniform number per row from it.
    """
    if params.seed is None:
        return None
    digest = hashlib.blake2b(f"{params.seed}:{index}".encode(), digest_size=8).digest()
    generator = torch.Generator()
    generator.manual_seed(int.from_bytes(digest, "little") >> 1)  # 63 bits: any torch accepts
    return generator


def sample(
    logits: Tensor,
    params: Sequence[SamplingParams],
    generators: Sequence[torch.Generator | None],
    seen: Sequence[Sequence[int]],
    banned: Sequence[Collection[int]] | None = None,
    allowed: Tensor | None = None,
) -> tuple[list[int], list[float]]:
    """Pick one token per row; return the tokens and their log-probabilities.

    logits: [B, V], any float dtype (read as float32, never modified). params, generators and
    seen hold one entry per row; seen is the row's prompt and output ids so far, for the
    repetition penalty (duplicates are fine, so are only the distinct ids). banned, when given,
    holds per row the ids the row must not pick (the repetition guard's); allowed, when given,
    [B, V] bool, the ids each row may pick at all (a grammar's mask: see `restrict`). The
    log-probability is that of the chosen token under log_softmax of the raw logits, before
    penalty, bans, mask or filters.
    """
    batch, _ = logits.shape
    if not len(params) == len(generators) == len(seen) == batch:
        raise ValueError(
            f"{batch} rows of logits but {len(params)} params, {len(generators)} generators "
            f"and {len(seen)} seen lists"
        )
    raw = logits.float()  # [B, V]
    scores = restrict(penalise_repeats(raw, params, seen), banned, allowed)  # [B, V]
    chosen = scores.argmax(dim=-1)  # [B]
    sampled = [row for row, p in enumerate(params) if p.temperature > 0]
    if sampled:
        rows = torch.tensor(sampled, device=logits.device)  # [R]
        chosen[rows] = _draw(
            scores[rows], [params[i] for i in sampled], [generators[i] for i in sampled]
        )
    logprobs = torch.log_softmax(raw, dim=-1).gather(1, chosen[:, None])  # [B, 1]
    return chosen.tolist(), logprobs.squeeze(1).tolist()


def penalise_repeats(
    scores: Tensor, params: Sequence[SamplingParams], seen: Sequence[Sequence[int]]
) -> Tensor:
    """Each row's repetition penalty on the ids it has seen; scores: [B, V] -> new [B, V]."""
    vocab = scores.shape[-1]
    rows: list[int] = []
    columns: list[int] = []
    penalties: list[float] = []
    for row, (row_params, ids) in enumerate(zip(params, seen, strict=True)):
        if row_params.repetition_penalty == 1.0 or not ids:
            continue
        distinct = set(ids)
        if min(distinct) < 0 or max(distinct) >= vocab:
            raise ValueError(f"row {row}: seen ids must lie in [0, {vocab})")
        rows += [row] * len(distinct)
        columns += distinct
        penalties += [row_params.repetition_penalty] * len(distinct)
    if not rows:
        return scores
    device = scores.device
    where = (torch.tensor(rows, device=device), torch.tensor(columns, device=device))  # [N] x 2
    penalty = torch.tensor(penalties, device=device)  # [N]
    picked = scores[where]  # [N]
    penalised = torch.where(picked < 0, picked * penalty, picked / penalty)  # [N]
    return scores.index_put(where, penalised)  # out of place: the caller's logits stay as given


def ban_tokens(scores: Tensor, banned: Sequence[Collection[int]] | None) -> Tensor:
    """Scores with each row's banned ids at -inf; scores: [B, V] -> [B, V] (the input unchanged,
    and returned as is when nothing is banned)."""
    if banned is None or not any(banned):
        return scores
    if len(banned) != scores.shape[0]:
        raise ValueError(f"{scores.shape[0]} rows of scores but {len(banned)} ban lists")
    rows = [row for row, ids in enumerate(banned) for _ in ids]
    columns = [token for ids in banned for token in ids]
    where = (
        torch.tensor(rows, device=scores.device),
        torch.tensor(columns, device=scores.device),
    )  # [N] x 2
    return scores.index_put(where, torch.tensor(float("-inf"), device=scores.device))


def restrict(
    scores: Tensor, banned: Sequence[Collection[int]] | None, allowed: Tensor | None
) -> Tensor:
    """Scores with each row's banned ids, and the ids its mask does not allow, at -inf.

    scores: [B, V]; allowed: [B, V] bool or None (no mask). The mask is the grammar's and always
    holds: a row whose bans would leave nothing the mask allows drops its bans instead.
    """
    banned_scores = ban_tokens(scores, banned)
    if allowed is None:
        return banned_scores
    masked = banned_scores.masked_fill(~allowed, float("-inf"))  # [B, V]
    if banned_scores is scores:
        return masked
    dead = masked.isneginf().all(dim=-1, keepdim=True)  # [B, 1]
    return torch.where(dead, scores.masked_fill(~allowed, float("-inf")), masked)


def _draw(
    scores: Tensor, params: Sequence[SamplingParams], generators: Sequence[torch.Generator | None]
) -> Tensor:
    """Sample each row after temperature, top-k and top-p; scores: [R, V] -> token ids [R]."""
    device = scores.device
    kept, order, count = _filtered_sorted(scores, params)  # [R, V], [R, V], [R, 1]
    cdf = kept.cumsum(dim=-1)  # [R, V]
    uniform = torch.tensor(uniforms(generators), device=device)  # [R]
    target = (uniform * cdf[:, -1])[:, None]  # [R, 1]
    # right=True skips zero-probability tokens; the clamp covers a target rounded up to the total.
    position = torch.searchsorted(cdf, target, right=True)  # [R, 1]
    position = torch.minimum(position, count - 1)
    return order.gather(1, position).squeeze(1)  # [R]


def filtered_probs(scores: Tensor, params: Sequence[SamplingParams]) -> Tensor:
    """The distribution `sample` draws from, per row, in vocabulary order: [R, V] -> [R, V].

    scores are the penalised logits (see `penalise_repeats`); every row must have temperature > 0.
    Speculative decoding compares these distributions of the draft and the target model.
    """
    kept, order, _ = _filtered_sorted(scores, params)
    kept = kept / kept.sum(dim=-1, keepdim=True)
    return torch.zeros_like(kept).scatter_(1, order, kept)


def _filtered_sorted(
    scores: Tensor, params: Sequence[SamplingParams]
) -> tuple[Tensor, Tensor, Tensor]:
    """Temperature, top-k and top-p of each row, in descending order of probability.

    scores: [R, V] -> unnormalised kept probabilities [R, V] (0 where filtered out), the token id
    of each sorted position [R, V], and how many tokens each row keeps [R, 1].
    """
    device = scores.device
    vocab = scores.shape[-1]
    temperature = torch.tensor([p.temperature for p in params], device=device)[:, None]  # [R, 1]
    # Shifting by the row max first keeps a tiny temperature from overflowing to +inf.
    scaled = (scores - scores.amax(dim=-1, keepdim=True)) / temperature  # [R, V]
    # Stable, so ties rank by id and top_k=1 picks exactly what argmax picks.
    ordered, order = scaled.sort(dim=-1, descending=True, stable=True)  # [R, V] each
    rank = torch.arange(vocab, device=device)  # [V]
    top_k = torch.tensor([p.top_k or vocab for p in params], device=device)[:, None]  # [R, 1]
    ordered = ordered.masked_fill(rank >= top_k, float("-inf"))
    probs = ordered.softmax(dim=-1)  # [R, V], renormalised over the top k as transformers does
    # top_p 1 keeps everything even where float rounding lets the mass reach 1 early.
    top_p = [p.top_p if p.top_p < 1.0 else float("inf") for p in params]
    mass_before = probs.cumsum(dim=-1) - probs  # [R, V]
    # The nucleus: tokens whose more likely predecessors have not yet reached top_p. The first
    # token always stays; both filters keep a prefix of the sorted order.
    keep = (rank < top_k) & (mass_before < torch.tensor(top_p, device=device)[:, None])  # [R, V]
    return probs * keep, order, keep.sum(dim=-1, keepdim=True)


def uniforms(generators: Sequence[torch.Generator | None]) -> list[float]:
    """One uniform number in [0, 1) per row, each from the row's own stream."""
    # Torch's global generator starts from the same seed in every process, so unseeded rows use
    # a generator seeded from the operating system's entropy instead.
    fresh: torch.Generator | None = None
    draws: list[float] = []
    for generator in generators:
        if generator is None:
            if fresh is None:
                fresh = torch.Generator()
                fresh.seed()
            generator = fresh
        draws.append(torch.rand((), generator=generator).item())
    return draws
