"""The paged cache's contiguous row copies: every way the engine feeds it equals a full forward
without cache (GQA, MLA absorbed, MLA naive), and a copy never outlives the blocks behind it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch

from twincore.model_core import model as model_module
from twincore.model_core.config import ModelConfig, load_preset
from twincore.model_core.engine.blocks import BlockPool, CacheLayout
from twincore.model_core.engine.paged import PagedView
from twincore.model_core.loader import init_random
from twincore.model_core.model import MLA, Transformer

BLOCK = 4

GQA_TINY = ModelConfig(
    name="gqa-tiny", attention="gqa", vocab_size=512, hidden_size=64, num_layers=2,
    num_heads=6, intermediate_size=96, num_kv_heads=2, head_dim=16, qkv_bias=True,
    max_position_embeddings=256, rope_theta=10000.0, tie_word_embeddings=True,
)  # fmt: skip


def _model(kind: str) -> Transformer:
    config = GQA_TINY if kind == "gqa" else load_preset("deep-tiny")
    model = init_random(config, seed=5).eval()
    with torch.no_grad():  # sharper than the 0.02 init, so attention is far from uniform
        for param in model.parameters():
            if param.dim() == 2:
                param.mul_(4.0)
    for module in model.modules():
        if isinstance(module, MLA):
            module.absorb = kind == "mla-absorbed"
    return model


def _pool(model: Transformer, blocks: int = 64) -> BlockPool:
    absorbed = all(m.absorb for m in model.modules() if isinstance(m, MLA))
    layout = CacheLayout.for_model(model.config, absorbed_mla=absorbed)
    return BlockPool(layout, num_blocks=blocks, block_size=BLOCK, dtype=torch.float32)


class Row:
    """A sequence as the engine keeps it: tokens, blocks, how many positions are computed."""

    def __init__(self, pool: BlockPool, tokens: Sequence[int]) -> None:
        self.pool, self.tokens, self.computed = pool, list(tokens), 0
        self.blocks: list[int] = []

    def reserve(self, end: int) -> None:
        while len(self.blocks) * BLOCK < end:
            self.blocks.append(self.pool.allocate())


def _feed(model: Transformer, rows: list[Row], width: int) -> torch.Tensor:
    """Feed each row's next `width` tokens in one pass; logits [B, width, V]."""
    for row in rows:
        row.reserve(row.computed + width)
    tokens = torch.tensor([r.tokens[r.computed : r.computed + width] for r in rows])
    positions = torch.tensor([list(range(r.computed, r.computed + width)) for r in rows])
    view = PagedView(rows[0].pool, [r.blocks for r in rows], [r.computed + width for r in rows])
    with torch.inference_mode():
        logits: torch.Tensor = model(tokens, positions, view)
    for row in rows:
        row.computed += width
    return logits


def _full(model: Transformer, tokens: Sequence[int]) -> torch.Tensor:
    """Logits [T, V] of a forward over all tokens at once, no cache."""
    with torch.inference_mode():
        logits: torch.Tensor = model(torch.tensor([list(tokens)]), torch.arange(len(tokens))[None])
    return logits[0]


def _tokens(count: int, seed: int) -> list[int]:
    return torch.randint(2, 512, (count,), generator=torch.Generator().manual_seed(seed)).tolist()


KINDS = ["gqa", "mla-absorbed", "mla-naive"]


@pytest.mark.parametrize("rows_apart", [True, False], ids=["row-by-row", "padded"])
@pytest.mark.parametrize("kind", KINDS)
def test_chunked_prefill_then_batched_decode_of_different_lengths_equals_full_forward(
    kind: str, rows_apart: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_module, "PAD_ROWS_UP_TO", 0 if rows_apart else 10_000)
    model = _model(kind)
    pool = _pool(model)
    rows = [Row(pool, _tokens(n + 6, seed=n)) for n in (11, 5, 8)]
    got: list[list[torch.Tensor]] = [[] for _ in rows]
    for i, row in enumerate(rows):  # chunks of 3 (S > 1 with history), then the rest
        while len(row.tokens) - 6 - row.computed > 3:
            got[i].extend(_feed(model, [row], 3)[0])
        got[i].extend(_feed(model, [row], len(row.tokens) - 6 - row.computed)[0])
    for _ in range(6):  # batched decode: B rows, S = 1, histories of different lengths
        for i, step in enumerate(_feed(model, rows, 1)):
            got[i].append(step[0])
    for i, row in enumerate(rows):
        expected = _full(model, row.tokens)
        assert (torch.stack(got[i]) - expected).abs().max().item() < 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_verification_rows_roll_back_by_overwriting(kind: str) -> None:
    model = _model(kind)
    pool = _pool(model)
    row = Row(pool, _tokens(9, seed=1))
    _feed(model, [row], 9)
    row.tokens += _tokens(5, seed=2)  # k = 4 drafts after the last token: S = 5, all logits
    verify = _feed(model, [row], 5)[0]
    assert (verify - _full(model, row.tokens)[9:]).abs().max().item() < 1e-4
    row.tokens, row.computed = row.tokens[:11] + _tokens(3, seed=3), 11  # kept 2, rest rejected
    decoded = [_feed(model, [row], 1)[0, 0] for _ in range(3)]
    expected = _full(model, row.tokens)[11:]
    assert (torch.stack(decoded) - expected).abs().max().item() < 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_forks_and_prefix_hits_read_their_own_blocks(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_module, "PAD_ROWS_UP_TO", 0)  # rows read their copies
    model = _model(kind)
    pool = _pool(model)
    parent = Row(pool, _tokens(10, seed=4))
    _feed(model, [parent], 10)
    # Fork as the engine does: share the full blocks, copy the partial one.
    child = Row(pool, parent.tokens)
    full, partial = divmod(parent.computed, BLOCK)
    for block in parent.blocks[:full]:
        pool.refs[block] += 1
    child.blocks = [*parent.blocks[:full], pool.allocate()]
    pool.copy_block(parent.blocks[full], child.blocks[-1], partial)
    child.computed = parent.computed
    # A prefix hit: a new sequence reuses the parent's first two full blocks, starts at 8.
    hit = Row(pool, parent.tokens[:8] + _tokens(3, seed=5))
    for block in parent.blocks[:2]:
        pool.refs[block] += 1
    hit.blocks, hit.computed = parent.blocks[:2], 8
    _feed(model, [hit], 3)
    parent.tokens += _tokens(5, seed=6)
    child.tokens += _tokens(5, seed=7)
    hit.tokens += _tokens(5, seed=8)
    got: dict[int, list[torch.Tensor]] = {0: [], 1: [], 2: []}
    for _ in range(5):
        for i, step in enumerate(_feed(model, [parent, child, hit], 1)):
            got[i].append(step[0])
    for i, row in enumerate((parent, child, hit)):
        expected = _full(model, row.tokens)[-5:]
        assert (torch.stack(got[i]) - expected).abs().max().item() < 1e-4


def test_a_copy_never_outlives_its_blocks() -> None:
    model = _model("gqa")
    pool = _pool(model, blocks=6)
    first = Row(pool, _tokens(10, seed=9))
    _feed(model, [first], 10)
    assert pool.row_cache_bytes > 0
    for block in first.blocks:
        pool.release(block)
    assert pool.row_cache_bytes == 0
    # The freed blocks come back to a new sequence with other tokens: it reads only its own.
    second = Row(pool, _tokens(14, seed=10))
    _feed(model, [second], 7)
    steps = [_feed(model, [second], 1)[0, 0] for _ in range(7)]
    assert (torch.stack(steps) - _full(model, second.tokens)[7:]).abs().max().item() < 1e-4


def test_pool_and_row_copies_live_on_the_pool_device() -> None:
    # No CUDA here: meta tensors show where each tensor goes, bfloat16 as on a GPU.
    model = _model("gqa").to(device="meta", dtype=torch.bfloat16)
    layout = CacheLayout.for_model(model.config)
    pool = BlockPool(
        layout, num_blocks=8, block_size=BLOCK, dtype=torch.bfloat16, device=torch.device("meta")
    )
    assert pool.device == torch.device("meta")
    assert all(t.device.type == "meta" and t.dtype == torch.bfloat16 for t in pool.storage)
    row = Row(pool, _tokens(6, seed=11))
    row.reserve(6)
    view = PagedView(pool, [row.blocks], [6])
    tokens = torch.tensor([row.tokens], device="meta")
    positions = torch.arange(6, device="meta")[None]
    with torch.inference_mode():
        logits = model(tokens, positions, view)
    assert logits.device.type == "meta"
    assert logits.shape == (1, 6, model.config.vocab_size)
    (copy,) = pool.claim_rows([row.blocks], [6], [7])
    assert all(t.device.type == "meta" for t in copy.layers)
