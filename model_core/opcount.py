"""Count the PyTorch operators one batch-1 decode step runs, as the engine runs it.

What is counted: the profiler's CPU operator events (named `namespace::op`: `aten::*` and custom
ops such as `twincore::int8_mm`) that have no operator ancestor, i.e. the operators Python
dispatches, not the ones they call inside, over one engine-shaped decode step:
building the step's `PagedView` over a `BlockPool` (block size 16) and the model's forward
(`last_only=True`) for one token at position `context`, after `context` tokens were prefilled.
Each operator costs dispatch overhead (~1-5 us on CPU) whatever its size, so at batch 1 this
count bounds how close a small model can get to its weight-bandwidth limit.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.autograd.profiler_util import EventList, FunctionEvent

from twincore.model_core.engine.blocks import BlockPool, CacheLayout
from twincore.model_core.engine.paged import PagedView
from twincore.model_core.model import MLA, Transformer

BLOCK_SIZE = 16


def _is_operator(event: FunctionEvent) -> bool:
    return "::" in event.name


def _top_level_operators(events: EventList) -> Counter[str]:
    counts: Counter[str] = Counter()
    for event in events:
        if not _is_operator(event):
            continue
        parent: FunctionEvent | None = event.cpu_parent
        while parent is not None and not _is_operator(parent):
            parent = parent.cpu_parent
        if parent is None:
            counts[event.name] += 1
    return counts


def decode_step_ops(model: Transformer, *, context: int = 64) -> Counter[str]:
    """Top-level operators of one batch-1 decode step, by name (see the module doc)."""
    absorbed = all(m.absorb for m in model.modules() if isinstance(m, MLA))
    layout = CacheLayout.for_model(model.config, absorbed_mla=absorbed)
    blocks = -(-(context + 1) // BLOCK_SIZE)
    dtype = model.model.embed_tokens.weight.dtype
    device = model.model.embed_tokens.weight.device
    pool = BlockPool(layout, num_blocks=blocks, block_size=BLOCK_SIZE, dtype=dtype, device=device)
    table = [list(range(blocks))]
    generator = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, model.config.vocab_size, (1, context), generator=generator)
    with torch.inference_mode():
        model(prompt, torch.arange(context)[None], PagedView(pool, table, [context]))
        token, position = torch.tensor([[1]]), torch.tensor([[context]])
        # One unprofiled step first, so lazy one-time work is not counted.
        model(token, position, PagedView(pool, table, [context + 1]), last_only=True)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            view = PagedView(pool, table, [context + 1])
            model(token, position, view, last_only=True)
    return _top_level_operators(prof.events())


def ops_per_token(model: Transformer, *, context: int = 64) -> int:
    """The number of top-level operators of one batch-1 decode step (see the module doc)."""
    return sum(decode_step_ops(model, context=context).values())
