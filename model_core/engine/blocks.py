"""The KV block pool: fixed-size blocks allocated once per engine, shared through a prefix cache.

Every layer keeps one tensor per cache entry (MLA absorbed: c_kv and the rope key; GQA and naive
MLA: K and V) shaped [num_blocks * block_size, *entry_shape], so a token's slot is
`block * block_size + offset` in all of them. Blocks are reference counted: a full block whose
tokens (and everything before them) hash to a known value is shared read-only by every sequence
with that prefix, and stays cached after its last user leaves until LRU eviction reclaims it.
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
    """What one token stores per layer: the shapes of its entries."""

    num_layers: int
    entry_shapes: tuple[tuple[int, ...], ...]
    kind: str

    @classmethod
    def for_model(cls, config: ModelConfig, *, absorbed_mla: bool = True) -> CacheLayout:
        if config.attention == "gqa":
            shape = (config.num_kv_heads, config.head_dim)
            return cls(config.num_layers, (shape, shape), "gqa")
        if absorbed_mla:
            return cls(
                config.num_layers,
                ((config.kv_lora_rank,), (config.qk_rope_head_dim,)),
                "mla-latent",
            )
        heads = config.num_heads
        return cls(
            config.num_layers,
            ((heads, config.qk_head_dim), (heads, config.v_head_dim)),
            "mla-full",
        )

    def elements_per_token(self) -> int:
        per_layer = sum(int(torch.Size(shape).numel()) for shape in self.entry_shapes)
        return per_layer * self.num_layers


def block_hash(parent: bytes, tokens: Sequence[int]) -> bytes:
    """Hash of a full block's tokens chained to the hash of everything before them."""
    digest = hashlib.blake2b(parent, digest_size=16)
    digest.update(b",".join(str(t).encode() for t in tokens))
    return digest.digest()


class BlockPool:
    """Fixed pool of KV blocks with reference counts, a prefix-hash index and LRU eviction."""

    def __init__(
        self, layout: CacheLayout, *, num_blocks: int, block_size: int, dtype: torch.dtype
    ) -> None:
        if num_blocks < 1 or block_size < 1:
            raise ValueError("the KV pool needs at least one block of at least one token")
        self.layout, self.num_blocks, self.block_size = layout, num_blocks, block_size
        slots = num_blocks * block_size
        self.storage: list[list[Tensor]] = [
            [torch.zeros((slots, *shape), dtype=dtype) for shape in layout.entry_shapes]
            for _ in range(layout.num_layers)
        ]
        self.free: deque[int] = deque(range(num_blocks))
        self.refs = [0] * num_blocks
        self.hash_of: dict[int, bytes] = {}
        self.by_hash: dict[bytes, int] = {}
        self.evictable: OrderedDict[int, None] = OrderedDict()  # cached, unused; oldest first
        self.lookups = 0
        self.hits = 0

    @property
    def bytes_per_block(self) -> int:
        element = self.storage[0][0].element_size()
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
        self.refs[block] = 1
        return block

    def release(self, block: int) -> None:
        """Drop one reference; an unused block is kept as cache if it is hashed, else freed."""
        self.refs[block] -= 1
        if self.refs[block] > 0:
            return
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
        src = slice(source * self.block_size, source * self.block_size + tokens)
        dst = slice(target * self.block_size, target * self.block_size + tokens)
        for layer in self.storage:
            for entry in layer:
                entry[dst] = entry[src]
