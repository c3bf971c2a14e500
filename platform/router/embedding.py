"""Mean-pooled token embeddings of a core's model: the classifier's sense of word meaning.

Hashed n-grams only know the words of the training prompts; the embedding table of the swift
core's model (SmolLM2-135M, installed as a data package) places unseen words near related ones,
so "segfault" lands near other programming words. Only the table is read (no forward pass), so
a prompt costs one tokenization and one mean: tens of microseconds.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

from twincore.model_core.tokenizer import Tokenizer
from twincore.model_core.weights import resolve_default_model

EMBEDDING_TENSOR = "token_embd.weight"
MAX_CHARS = 4000


class TokenEmbedding:
    """Tokenizer plus embedding table [vocab, dim] of one default model."""

    def __init__(self, model: str, tokenizer: Tokenizer, table: np.ndarray) -> None:
        self.model, self.tokenizer, self.table = model, tokenizer, table
        self.dim = int(table.shape[1])

    @classmethod
    def load(cls, model: str, *, data_dir: Path) -> TokenEmbedding:
        return _load(model, data_dir.resolve())

    def pooled(self, text: str) -> np.ndarray:
        """The L2-normalised mean of the prompt's token embeddings: [dim]."""
        ids = self.tokenizer.encode(text[:MAX_CHARS])
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vector: np.ndarray = self.table[ids].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector


@lru_cache(maxsize=2)
def _load(model: str, data_dir: Path) -> TokenEmbedding:
    """One table per process, however many classifiers load it."""
    path = resolve_default_model(model, data_dir=data_dir)
    reader = GGUFReader(path)
    tensor = next((t for t in reader.tensors if t.name == EMBEDDING_TENSOR), None)
    if tensor is None:
        raise ValueError(f"{path} has no {EMBEDDING_TENSOR} tensor")
    rows = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
    table = rows.reshape(-1, int(tensor.shape[0]))  # GGUF lists dims innermost first
    return TokenEmbedding(model, Tokenizer.from_gguf(reader), table)
