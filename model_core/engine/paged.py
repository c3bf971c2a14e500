"""A view of the block pool as the model's `KVCache` for one batched forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from twincore.model_core.engine.blocks import BlockPool


class PagedView:
    """Maps each row's positions to pool slots through its block table.

    Built per forward pass with each row's context length after the pass; every layer sees the
    same positions, so the slot maps are computed once and reused by all layers.
    """

    def __init__(
        self, pool: BlockPool, block_tables: Sequence[Sequence[int]], context_lengths: Sequence[int]
    ) -> None:
        self.pool = pool
        size = pool.block_size
        width = max(len(table) for table in block_tables)
        tables = torch.tensor([list(t) + [0] * (width - len(t)) for t in block_tables])  # [B, W]
        self.tables = tables
        lengths = torch.tensor(list(context_lengths))  # [B]
        steps = torch.arange(int(lengths.max()))  # [T]
        valid = steps[None, :] < lengths[:, None]  # [B, T]
        block_index = (steps // size).clamp(max=width - 1)
        self.history_slots = torch.where(
            valid, tables[:, block_index] * size + steps % size, 0
        )  # [B, T]
        self.history_positions = torch.where(valid, steps[None, :], -1)  # [B, T]
        self._write_slots: Tensor | None = None

    def update(
        self, layer: int, positions: Tensor, entries: tuple[Tensor, ...]
    ) -> tuple[tuple[Tensor, ...], Tensor]:
        # positions: [B, S]; entries [B, S, ...] -> history [B, T, ...], positions [B, T]
        if self._write_slots is None:
            size = self.pool.block_size
            blocks = torch.gather(self.tables, 1, positions // size)
            self._write_slots = (blocks * size + positions % size).flatten()  # [B*S]
        stored = self.pool.storage[layer]
        history = []
        for buffer, entry in zip(stored, entries, strict=True):
            buffer.index_copy_(0, self._write_slots, entry.flatten(0, 1).to(buffer.dtype))
            history.append(buffer[self.history_slots])
        return tuple(history), self.history_positions
