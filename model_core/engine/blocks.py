"""The KV block pool: fixed-size blocks allocated once per engine, shared through a prefix cache.

Every layer keeps one tensor [num_blocks * block_size, width] (`CacheLayout` says what a
token's entry holds), so a token's slot is `block * block_size + offset` in all of them. Blocks
are reference counted: a full block whose tokens (and everything before them) hash to a known
value is shared read-only by every sequence with that prefix, and stays cached after
its last user leaves until LRU eviction reclaims it.

The pool also backs each decoding sequence with a contiguous copy of its entries (`RowCache`),
so attention reads a sequence's history as a view instead of gathering its blocks in every
layer at every step. The blocks stay the truth: a copy is filled from them once (admission,
fork, recompute after preemption), then appended to by the same writes that go to the blocks,
and it is dropped as soon as one of its blocks is reallocated, copied into or freed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from twincore.model_core.config import ModelConfig


class OutOfBlocksError(RuntimeError):
    """No free or evictable block is left in the pool."""


@dataclass(frozen=True)
class CacheLayout:
    """What one token stores per layer: one entry of `width` elements (see `model.KVSplit`).

    gqa: K heads then V heads, 2 * kv_heads * head_dim; mla-latent (absorbed): the normalised
    latent c_kv then the rope key, kv_lora_rank + qk_rope_head_dim; mla-full (naive): per head
    its K (qk_head_dim) then its V (v_head_dim).
    """

    num_layers: int
    width: int
    kind: str

    @classmethod
    def for_model(cls, config: ModelConfig, *, absorbed_mla: bool = True) -> CacheLayout:
        if config.attention == "gqa":
            return cls(config.num_layers, 2 * config.num_kv_heads * config.head_dim, "gqa")
        if absorbed_mla:
            width = config.kv_lora_rank + config.qk_rope_head_dim
            return cls(config.num_layers, width, "mla-latent")
        width = config.num_heads * (config.qk_head_dim + config.v_head_dim)
        return cls(config.num_layers, width, "mla-full")

    def elements_per_token(self) -> int:
        return self.width * self.num_layers


@dataclass(eq=False)
class RowCache:
    """One sequence's entries in position order: `layers[l]` is [capacity, width], its first
    `length` rows valid; `table` lists the pool blocks those positions live in."""

    layers: list[Tensor]
    table: list[int]
    length: int

    @property
    def capacity(self) -> int:
        return self.layers[0].shape[0]


def block_hash(parent: bytes, tokens: Sequence[int]) -> bytes:
    """Hash of a full block's tokens chained to the hash of everything before them."""
    digest = hashlib.blake2b(parent, digest_size=16)
    digest.update(b",".join(str(t).encode() for t in tokens))
    return digest.digest()


class BlockPool:
    """Fixed pool of KV blocks with reference counts, a prefix-hash index and LRU eviction."""

    def __init__(
        self,
        layout: CacheLayout,
        *,
        num_blocks: int,
        block_size: int,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
    ) -> None:
        if num_blocks < 1 or block_size < 1:
            raise ValueError("the KV pool needs at least one block of at least one token")
        self.layout, self.num_blocks, self.block_size = layout, num_blocks, block_size
        self.device = torch.device(device)
        slots = num_blocks * block_size
        self.dtype = dtype
        self.storage: list[Tensor] = [
            torch.zeros((slots, layout.width), dtype=dtype, device=self.device)
            for _ in range(layout.num_layers)
        ]  # one [slots, width] tensor per layer
        self.free: deque[int] = deque(range(num_blocks))
        self.refs = [0] * num_blocks
        self.hash_of: dict[int, bytes] = {}
        self.by_hash: dict[bytes, int] = {}
        self.evictable: OrderedDict[int, None] = OrderedDict()  # cached, unused; oldest first
        self.lookups = 0
        self.hits = 0
        self._rows_of_block: dict[int, list[RowCache]] = {}

    @property
    def bytes_per_block(self) -> int:
        element = self.storage[0].element_size()
        return self.layout.elements_per_token() * self.block_size * element

    @property
    def total_bytes(self) -> int:
        return self.bytes_per_block * self.num_blocks

    @property
    def available(self) -> int:
        """Blocks that an allocation can obtain: free ones plus cached ones nobody uses."""
        return len(self.free) + len(self.evictable)

    def allocate(self) -> int:
        """A private block (reference count 1); evicts the least recently used cached block."""
        if self.free:
            block = self.free.popleft()
        elif self.evictable:
            block, _ = self.evictable.popitem(last=False)
            del self.by_hash[self.hash_of.pop(block)]
        else:
            raise OutOfBlocksError("the KV block pool is exhausted")
        self._forget(block)
        self.refs[block] = 1
        return block

    def release(self, block: int) -> None:
        """Drop one reference; an unused block is kept as cache if it is hashed, else freed."""
        self.refs[block] -= 1
        if self.refs[block] > 0:
            return
        self._forget(block)
        if block in self.hash_of:
            self.evictable[block] = None
        else:
            self.free.append(block)

    def lookup(self, digest: bytes) -> int | None:
        """The cached block holding this prefix hash, with a reference taken; None on a miss."""
        self.lookups += 1
        block = self.by_hash.get(digest)
        if block is None:
            return None
        self.hits += 1
        if self.refs[block] == 0:
            del self.evictable[block]
        self.refs[block] += 1
        return block

    def register(self, block: int, digest: bytes) -> None:
        """Publish a full block under its prefix hash (first writer wins; copies stay private)."""
        if digest in self.by_hash or block in self.hash_of:
            return
        self.by_hash[digest] = block
        self.hash_of[block] = digest

    def copy_block(self, source: int, target: int, tokens: int) -> None:
        """Copy the first `tokens` slots of one block into another (forking a partial block)."""
        self._forget(target)
        src = slice(source * self.block_size, source * self.block_size + tokens)
        dst = slice(target * self.block_size, target * self.block_size + tokens)
        for entries in self.storage:
            entries[dst] = entries[src]

    # ----- contiguous copies of decoding sequences ------------------------------------------

    @property
    def row_cache_bytes(self) -> int:
        """Bytes held by the contiguous copies (on top of `total_bytes`)."""
        rows = {id(r): r for rs in self._rows_of_block.values() for r in rs}.values()
        return sum(t.numel() * t.element_size() for r in rows for t in r.layers)

    def claim_rows(
        self, tables: Sequence[Sequence[int]], starts: Sequence[int], ends: Sequence[int]
    ) -> list[RowCache]:
        """Each row's contiguous copy, valid for its positions below `start`, with room up to
        `end`; it then counts `end` positions, so the caller must write [start, end) in every
        layer. A row reuses the copy that the same blocks back, else gets one filled from the
        pool (one gather per sequence, not per step)."""
        claimed: list[RowCache] = []
        for table, start, end in zip(tables, starts, ends, strict=True):
            row = self._find(table, start, claimed) or self._fill(table, start)
            row.length = start  # entries past `start` are stale (a rolled-back speculation)
            self._reserve(row, end)
            self._invalidate_others(row, table, start, end)
            self._set_table(row, list(table[: -(-end // self.block_size)]))
            row.length = end
            claimed.append(row)
        return claimed

    def _find(self, table: Sequence[int], start: int, claimed: list[RowCache]) -> RowCache | None:
        """A copy whose blocks agree with `table` and that holds at least `start` positions."""
        if start == 0:
            return None
        for row in self._rows_of_block.get(table[(start - 1) // self.block_size], ()):
            shared = min(len(row.table), len(table))
            agrees = row.length >= start and row.table[:shared] == list(table[:shared])
            if agrees and not any(row is other for other in claimed):
                return row
        return None

    def _fill(self, table: Sequence[int], start: int) -> RowCache:
        """A new copy holding positions [0, start) gathered from the pool."""
        capacity = self._round_up(max(start, 1))
        layers = [
            torch.empty((capacity, self.layout.width), dtype=self.dtype, device=self.device)
            for _ in range(self.layout.num_layers)
        ]
        if start:
            steps = torch.arange(start, device=self.device)
            blocks = torch.tensor(list(table), device=self.device)[steps // self.block_size]
            slots = blocks * self.block_size + steps % self.block_size  # [start]
            for copy, entries in zip(layers, self.storage, strict=True):
                torch.index_select(entries, 0, slots, out=copy[:start])
        return RowCache(layers, [], start)

    def _round_up(self, tokens: int) -> int:
        size = self.block_size
        return -(-max(tokens, 4 * size) // size) * size

    def _reserve(self, row: RowCache, end: int) -> None:
        """Room for `end` positions; growth doubles, so appends cost O(1) amortised."""
        if end <= row.capacity:
            return
        capacity = self._round_up(max(end, 2 * row.capacity))
        for i, old in enumerate(row.layers):
            new = old.new_empty((capacity, old.shape[1]))
            new[: row.length] = old[: row.length]
            row.layers[i] = new

    def _set_table(self, row: RowCache, table: list[int]) -> None:
        for block in set(row.table) - set(table):
            self._rows_of_block[block].remove(row)
        for block in set(table) - set(row.table):
            self._rows_of_block.setdefault(block, []).append(row)
        row.table = table

    def _invalidate_others(self, row: RowCache, table: Sequence[int], start: int, end: int) -> None:
        """Another copy of a block about to be written no longer knows that block's content."""
        first, last = start // self.block_size, -(-end // self.block_size)
        for block in table[first:last]:
            for other in list(self._rows_of_block.get(block, ())):
                if other is not row:
                    self._truncate(other, other.table.index(block))

    def _truncate(self, row: RowCache, blocks: int) -> None:
        """Keep only the positions of the row's first `blocks` blocks (drop it when none)."""
        row.length = min(row.length, blocks * self.block_size)
        self._set_table(row, row.table[:blocks])

    def _forget(self, block: int) -> None:
        """Drop every copy holding a block that is reallocated, copied into or freed."""
        for row in list(self._rows_of_block.get(block, ())):
            self._truncate(row, 0)
        self._rows_of_block.pop(block, None)
