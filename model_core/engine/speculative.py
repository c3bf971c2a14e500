"""Speculative decoding: a cheap drafter proposes k tokens, the target checks them in one pass.

Two drafters: `ModelDrafter` runs a small model with the same vocabulary (swift's
Qwen2.5-Coder-0.5B drafting for deep's 1.5B), `MTPDrafter` runs the target's own DeepSeek-V3
multi-token-prediction module (one token per step). Each keeps its own contiguous cache per
sequence, so the engine's block pool never holds a draft's entries.

Verification (`verify`) feeds the last sampled token and the k drafts at once and reads the
target's logits at every one of the k+1 positions:
- greedy: the target's pick at each position (the same `sample` call as plain decoding, with the
  same repetition-penalty history); the drafts agreeing with it are kept, then the target's own
  token at the first disagreement (or a bonus token after k agreements). The output is plain
  greedy decoding's, token for token.
- sampling: the accept/reject rule of Leviathan et al. (2023) and Chen et al. (2023): draft x is
  kept with probability min(1, p(x)/q(x)); at the first rejection a token is drawn from
  max(0, p - q) renormalised; after k acceptances a bonus token is drawn from p. p and q are the
  target's and the draft's distributions after penalty, temperature, top-k and top-p, so the
  emitted tokens follow the target's distribution exactly.

Budget per verify step: one target pass over k+1 rows (weights read once, as for one token) plus
k draft passes; it pays when the acceptance rate makes k+1 rows cheaper than the tokens they
yield. `adapt_k` keeps k near the run of recent acceptances.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from twincore.model_core.cache import DenseCache
from twincore.model_core.engine.sampling import (
    SamplingParams,
    filtered_probs,
    penalise_repeats,
    restrict,
    sample,
    uniforms,
)
from twincore.model_core.engine.sequence import Sequence
from twincore.model_core.fuse import fuse_projections
from twincore.model_core.model import Transformer


@dataclass(frozen=True)
class Draft:
    """Proposed tokens and, when sampling, the distributions they were drawn from."""

    tokens: list[int]
    probs: Tensor | None = None
    """[k, V_target]: the draft distribution of each proposed token; None for greedy drafts."""


class Drafter(Protocol):
    """What the engine needs from a drafter."""

    needs_hidden: bool
    """The engine reports the target's hidden states of every computed position (`observe`)."""

    def propose(self, seq: Sequence, k: int) -> Draft:
        """Up to k tokens to follow `seq.tokens` (which ends with the not yet computed token)."""
        ...

    def observe(self, seq: Sequence, start: int, hidden: Tensor) -> None:
        """The target's hidden states [S, hidden] of positions start.. whose next token is known."""
        ...

    def release(self, seq: Sequence) -> None:
        """Forget the sequence (finished or preempted)."""
        ...


def pick(
    logits: Tensor, params: SamplingParams, seen: list[int], generator: torch.Generator | None,
    vocab: int,
) -> tuple[int, Tensor | None]:  # fmt: skip
    """One draft token from logits [V_draft]; with sampling, also its distribution [vocab]."""
    if params.temperature == 0:
        tokens, _ = sample(logits[None], [params], [None], [seen])
        return tokens[0], None
    scores = penalise_repeats(logits[None].float(), [params], [seen])
    probs = _fit_vocab(filtered_probs(scores, [params])[0], vocab)  # [vocab]
    token = _draw_from(probs, generator)
    return token, probs


def verify(
    logits: Tensor, draft: Draft, params: SamplingParams, generator: torch.Generator | None,
    seen: list[int], banned: Seq[Collection[int]] | None = None, allowed: Tensor | None = None,
) -> tuple[list[int], list[float]]:  # fmt: skip
    """The tokens to emit after checking `draft` against the target's logits [k+1, V].

    Row j of logits follows seen + draft.tokens[:j]; banned[j], when given, holds the ids the
    repetition guard bans after that history, so a banned draft is never kept and the target's
    own token is picked as plain decoding would pick it; allowed[j], when given ([k+1, V] bool),
    is the grammar's mask after that history, so a draft the grammar forbids is rejected like a
    mismatching one (see engine/grammar.py `draft_masks`). Returns the kept drafts plus one token
    of the target's own (so 1..k+1 tokens) and their log-probabilities under the raw logits.
    """
    k = len(draft.tokens)
    histories = [seen + draft.tokens[:j] for j in range(k + 1)]
    raw = logits.float()
    if params.temperature == 0:
        chosen, logprobs = sample(
            raw, [params] * (k + 1), [None] * (k + 1), histories, banned, allowed
        )
        kept = next((j for j in range(k) if chosen[j] != draft.tokens[j]), k)
        return chosen[: kept + 1], logprobs[: kept + 1]
    assert draft.probs is not None, "a sampled draft carries its distributions"
    scores = restrict(penalise_repeats(raw, [params] * (k + 1), histories), banned, allowed)
    target = filtered_probs(scores, [params] * (k + 1))
    emitted: list[int] = []
    for j, token in enumerate(draft.tokens):
        p, q = target[j], draft.probs[j]
        (u,) = uniforms([generator])
        if u * float(q[token]) < float(p[token]):  # accept with probability min(1, p/q)
            emitted.append(token)
            continue
        residual = (p - q).clamp(min=0)
        emitted.append(_draw_from(residual if float(residual.sum()) > 0 else p, generator))
        break
    else:
        emitted.append(_draw_from(target[k], generator))
    logs = torch.log_softmax(raw[: len(emitted)], dim=-1)
    picked = logs.gather(1, torch.tensor(emitted, device=raw.device)[:, None])
    return emitted, picked.squeeze(1).tolist()


def adapt_k(k: int, accepted: int, limit: int) -> int:
    """Next draft length: one more after a full acceptance, else one past what was accepted."""
    return max(1, min(limit, k + 1 if accepted == k else accepted + 1))


def _draw_from(probs: Tensor, generator: torch.Generator | None) -> int:
    """Inverse-CDF draw from an unnormalised distribution [V]."""
    cdf = probs.float().cumsum(dim=0)
    (u,) = uniforms([generator])
    index = int(torch.searchsorted(cdf, u * cdf[-1], right=True))
    return min(index, int((probs > 0).nonzero()[-1]))


def _fit_vocab(probs: Tensor, vocab: int) -> Tensor:
    """A draft distribution over the target's vocabulary: padded with zeros, or cut and renormed."""
    if probs.shape[0] == vocab:
        return probs
    if probs.shape[0] < vocab:
        return torch.cat((probs, probs.new_zeros(vocab - probs.shape[0])))
    cut = probs[:vocab]
    return cut / cut.sum()


@dataclass(eq=False)
class _ModelState:
    cache: DenseCache
    fed: list[int] = field(default_factory=list)
    """Tokens whose entries the draft cache holds, position by position."""


class ModelDrafter:
    """A small model with the target's vocabulary drafts k tokens, one pass each.

    Its cache is caught up lazily: each proposal first feeds every token of the sequence the draft
    has not seen (the whole prompt the first time, the target's last token afterwards). Entries past
    a rejection stay in the cache but sit at later positions than any query, so the causal mask
    hides them until they are overwritten.
    """

    needs_hidden = False

    def __init__(self, model: Transformer, *, target_vocab: int) -> None:
        self.model = model.eval()
        fuse_projections(self.model)
        self.target_vocab = target_vocab
        self.device = model.model.embed_tokens.weight.device
        self._states: dict[Sequence, _ModelState] = {}

    def propose(self, seq: Sequence, k: int) -> Draft:
        params = seq.state.request.params
        state = self._states.get(seq)
        if state is None:
            capacity = seq.prompt_len + params.max_tokens + k + 2
            state = self._states[seq] = _ModelState(DenseCache(batch=1, capacity=capacity))
        # At least the last token is fed: its logits start the draft.
        keep = min(_common_prefix(state.fed, seq.tokens), len(seq.tokens) - 1)
        del state.fed[keep:]
        feed = seq.tokens[keep:]
        if len(state.fed) + len(feed) + k > state.cache.capacity:
            return Draft(
                []
            )  # the request outgrew the sizing above (it cannot: max_tokens bounds it)
        tokens: list[int] = []
        probs: list[Tensor] = []
        for _ in range(k):
            logits = self._run(state, feed)  # [V_draft]
            token, dist = pick(
                logits, params, seq.tokens + tokens, seq.generator, self.target_vocab
            )
            if token >= self.target_vocab:
                break
            tokens.append(token)
            if dist is not None:
                probs.append(dist)
            feed = [token]
        return Draft(tokens, torch.stack(probs) if probs else None)

    def observe(self, seq: Sequence, start: int, hidden: Tensor) -> None:
        raise NotImplementedError("ModelDrafter needs no hidden states")  # needs_hidden is False

    def release(self, seq: Sequence) -> None:
        self._states.pop(seq, None)

    def _run(self, state: _ModelState, feed: list[int]) -> Tensor:
        start = len(state.fed)
        tokens = torch.tensor([feed], device=self.device)
        positions = torch.arange(start, start + len(feed), device=self.device)[None]
        logits: Tensor = self.model(tokens, positions, state.cache, last_only=True)
        state.fed.extend(feed)
        return logits[0, -1]


@dataclass(eq=False)
class _MTPState:
    cache: DenseCache
    last_position: int = -1
    logits: Tensor | None = None
    """MTP logits at last_position: the prediction for the token two places after it."""


class MTPDrafter:
    """The target's own DeepSeek-V3 MTP module drafts one token per step.

    At position i it reads the target's hidden state h_i and the embedding of token i+1 and
    predicts token i+2. The engine reports h_i of every position it computes (`observe`), so after
    each step the prediction for the token after the pending one is ready; its own attention
    history lives in a contiguous cache under the MTP layer's index. Positions the target never
    computed (a prefix-cache hit) stay zero in that history: the drafts get worse, never wrong.
    """

    needs_hidden = True

    def __init__(self, model: Transformer, *, depth: int = 0) -> None:
        if model.config.num_mtp_layers <= depth:
            raise ValueError(f"{model.config.name} has no MTP module {depth}")
        self.model, self.depth = model, depth
        self.device = model.model.embed_tokens.weight.device
        self._states: dict[Sequence, _MTPState] = {}

    def propose(self, seq: Sequence, k: int) -> Draft:
        state = self._states.get(seq)
        if state is None or state.logits is None or state.last_position != len(seq.tokens) - 2:
            return Draft([])
        params = seq.state.request.params
        vocab = self.model.config.vocab_size
        token, dist = pick(state.logits, params, seq.tokens, seq.generator, vocab)
        return Draft([token], None if dist is None else dist[None])

    def observe(self, seq: Sequence, start: int, hidden: Tensor) -> None:
        # hidden: [S, hidden]; position start+j pairs with token start+j+1
        count = min(hidden.shape[0], len(seq.tokens) - 1 - start)
        if count <= 0:
            return
        state = self._states.get(seq)
        if state is None:
            capacity = seq.prompt_len + seq.state.request.params.max_tokens + 2
            state = self._states[seq] = _MTPState(DenseCache(batch=1, capacity=capacity))
        positions = torch.arange(start, start + count, device=self.device)[None]
        following = torch.tensor([seq.tokens[start + 1 : start + 1 + count]], device=self.device)
        logits, _ = self.model.mtp_forward(
            hidden[None, :count], following, positions, state.cache, self.depth
        )
        state.logits, state.last_position = logits[0, -1], start + count - 1

    def release(self, seq: Sequence) -> None:
        self._states.pop(seq, None)


def _common_prefix(fed: Seq[int], tokens: Seq[int]) -> int:
    """Length of the common prefix. A sequence's tokens never change once appended and `fed` only
    strays from them by the rejected drafts of the last verification, so the scan starts near the
    end of `fed` (drafts are far shorter than 64 tokens)."""
    start = max(0, min(len(fed), len(tokens)) - 64)
    for i in range(start, min(len(fed), len(tokens))):
        if fed[i] != tokens[i]:
            return i
    return min(len(fed), len(tokens))
