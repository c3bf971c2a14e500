"""A plain generation loop outside the model: prefill, decode one token, greedy pick.

This is the reference loop (and the `twincore model generate` path); the engine issue builds the
batched, paged, sampled one and checks itself against this.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from twincore.model_core.cache import DenseCache
from twincore.model_core.model import Transformer


@torch.inference_mode()
def prefill(model: Transformer, tokens: Tensor, cache: DenseCache) -> Tensor:
    """Run the prompt tokens [1, S] through the model; return the last position's logits [V]."""
    positions = torch.arange(tokens.shape[1])[None, :]
    logits: Tensor = model(tokens, positions, cache, last_only=True)
    return logits[0, -1]


@torch.inference_mode()
def decode_one(model: Transformer, token: int, position: int, cache: DenseCache) -> Tensor:
    """Feed one token at `position`; return the next-token logits [V]."""
    tokens = torch.tensor([[token]])
    positions = torch.tensor([[position]])
    logits: Tensor = model(tokens, positions, cache)
    return logits[0, -1]


def greedy_stream(
    model: Transformer, prompt: Sequence[int], max_new_tokens: int, stop_ids: Sequence[int] = ()
) -> Iterator[int]:
    """Yield greedily chosen tokens until a stop id (not yielded) or `max_new_tokens`."""
    if not prompt:
        raise ValueError("the prompt must hold at least one token")
    capacity = len(prompt) + max_new_tokens
    if capacity > model.config.max_position_embeddings:
        raise ValueError(
            f"prompt plus max_new_tokens ({capacity}) exceeds the model's context "
            f"({model.config.max_position_embeddings})"
        )
    cache = DenseCache(batch=1, capacity=capacity)
    logits = prefill(model, torch.tensor([list(prompt)]), cache)
    position = len(prompt)
    for _ in range(max_new_tokens):
        token = int(logits.argmax())
        if token in stop_ids:
            return
        yield token
        logits = decode_one(model, token, position, cache)
        position += 1


def greedy_generate(
    model: Transformer, prompt: Sequence[int], max_new_tokens: int, stop_ids: Sequence[int] = ()
) -> list[int]:
    """The tokens `greedy_stream` yields, as a list."""
    return list(greedy_stream(model, prompt, max_new_tokens, stop_ids))
