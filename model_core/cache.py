"""A contiguous per-sequence KV cache: the simplest `KVCache`, for plain generation loops and tests.

The engine's paged, prefix-sharing cache implements the same protocol; this one allocates
[B, capacity, ...] per layer on first use and indexes slots by position.
"""

from __future__ import annotations

import torch
from torch import Tensor


class DenseCache:
    """Slot t of row b holds the entries of that sequence's token at position t."""

    def __init__(self, batch: int, capacity: int) -> None:
        self.batch, self.capacity = batch, capacity
        self.lengths = torch.zeros(batch, dtype=torch.long)  # filled prefix per row
        self._layers: dict[int, tuple[Tensor, ...]] = {}

    def update(
        self, layer: int, positions: Tensor, entries: tuple[Tensor, ...]
    ) -> tuple[tuple[Tensor, ...], Tensor]:
        # positions: [B, S]; entries: [B, S, ...] -> history [B, T, ...], slot positions [B, T]
        if int(positions.max()) >= self.capacity:
            raise ValueError(
                f"position {int(positions.max())} exceeds cache capacity {self.capacity}"
            )
        if layer not in self._layers:
            self._layers[layer] = tuple(
                e.new_zeros((self.batch, self.capacity, *e.shape[2:])) for e in entries
            )
        stored = self._layers[layer]
        rows = torch.arange(self.batch)[:, None].expand_as(positions)
        for buffer, entry in zip(stored, entries, strict=True):
            buffer[rows, positions] = entry
        # Every layer sees the same positions in one step, so the lengths agree across layers.
        self.lengths = torch.maximum(self.lengths, positions.amax(dim=1) + 1)
        used = int(self.lengths.max())
        slots = torch.arange(used)[None, :].expand(self.batch, -1)
        slot_positions = torch.where(slots < self.lengths[:, None], slots, -1)
        return tuple(buffer[:, :used] for buffer in stored), slot_positions

    def bytes_used(self) -> int:
        """Bytes of the allocated buffers (all layers)."""
        return sum(t.numel() * t.element_size() for layer in self._layers.values() for t in layer)
