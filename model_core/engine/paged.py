"""One forward pass's view of the block pool, as the model's row cache (`model.RowKVCache`).

Budget per layer and step, for B rows of S new tokens and histories of T_b tokens, entry width
W: writes B*S*W elements twice (pool blocks and each row's contiguous copy), reads nothing
else: attention gets each row's history as a view [T_b, W] of its copy and reads it once. No
per-layer gather; the only gather is the one that fills a row's copy when the row first
appears (admission, fork, recompute). Operators: 2 per layer for the pool write, 2 per row and
layer for the copy write and the view (3 with more than one row).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from twincore.model_core.engine.blocks import BlockPool, RowCache


class PagedView:
    """Maps each row's new positions to pool slots through its block table.

    Contract (the engine's): row b feeds S tokens at positions context_lengths[b] - S ..
    context_lengths[b] - 1, and every layer of the pass writes them. Rows are claimed from the
    pool on the first layer, so building a view costs nothing until the model runs.
    """

    def __init__(
        self, pool: BlockPool, block_tables: Sequence[Sequence[int]], context_lengths: Sequence[int]
    ) -> None:
        self.pool = pool
        self.tables = [list(table) for table in block_tables]
        self.lengths = [int(length) for length in context_lengths]
        self._rows: list[RowCache] = []
        self._starts: list[int] = []
        self._write_slots: Tensor | None = None
        self._row_positions: list[Tensor] = []

    def update_rows(
        self, layer: int, positions: Tensor, entries: tuple[Tensor, ...]
    ) -> list[tuple[Tensor, ...]]:
        # positions: [B, S]; entries: ([B, S, W],) -> per row ([T_b, W],)
        if self._write_slots is None:
            self._claim(positions)
        assert self._write_slots is not None
        (entry,) = entries
        stored = self.pool.storage[layer]
        flat = entry.flatten(0, 1)  # [B*S, W]
        if flat.dtype != stored.dtype:
            flat = flat.to(stored.dtype)
        stored.index_copy_(0, self._write_slots, flat)
        new = entry.shape[1]
        single = len(self._rows) == 1
        history: list[tuple[Tensor, ...]] = []
        for b, (row, row_positions, end) in enumerate(
            zip(self._rows, self._row_positions, self.lengths, strict=True)
        ):
            copy = row.layers[layer]
            copy.index_copy_(0, row_positions, flat if single else flat[b * new : (b + 1) * new])
            history.append((copy[:end],))
        return history

    def _claim(self, positions: Tensor) -> None:
        size, new = self.pool.block_size, positions.shape[1]
        self._row_positions = list(positions.unbind(0))  # [S] each
        self._starts = [end - new for end in self.lengths]
        if min(self._starts) < 0:
            raise ValueError("a row feeds more tokens than its context length holds")
        self._rows = self.pool.claim_rows(self.tables, self._starts, self.lengths)
        slots = [
            table[position // size] * size + position % size
            for table, start, end in zip(self.tables, self._starts, self.lengths, strict=True)
            for position in range(start, end)
        ]
        self._write_slots = torch.tensor(slots, device=self.pool.device)  # [B*S]
