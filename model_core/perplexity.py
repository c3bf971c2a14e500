"""Perplexity of a model over a token sequence, and the fixed evaluation text shipped with it.

Quantization is judged by how much it raises perplexity on the same text; `eval_text()` is that
text (GSM8K problems, see data/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 (the universal alias)
from torch import Tensor

from twincore.model_core.model import Transformer

EVAL_TEXT = Path(__file__).parent / "data" / "gsm8k_eval.txt"


def eval_text() -> str:
    """The shipped evaluation text: 40 GSM8K problems with their worked answers."""
    return EVAL_TEXT.read_text(encoding="utf-8")


@torch.inference_mode()
def perplexity(
    model: Transformer,
    token_ids: Sequence[int] | Tensor,
    *,
    window: int = 512,
    stride: int | None = None,
) -> float:
    """exp(mean negative log-likelihood) of tokens 1..L-1, each scored once.

    Sliding windows of `window` tokens start every `stride` tokens (default window // 2; at most
    window - 1 so that consecutive windows share a token); each window scores only the tokens no
    earlier window scored, so tokens after the first window see window - stride tokens of context
    or more. No cache: every window is one
    forward pass from position 0.
    """
    tokens = torch.as_tensor(token_ids, dtype=torch.long).flatten()  # [L]
    total = tokens.numel()
    stride = window // 2 if stride is None else stride
    if total < 2:
        raise ValueError("perplexity needs at least two tokens")
    if not 0 < stride <= window:
        raise ValueError(f"stride must be in 1..window ({window}), got {stride}")
    nll, scored_until, begin = 0.0, 1, 0  # token 0 has no prediction
    while scored_until < total:
        end = min(begin + window, total)
        ids = tokens[begin:end]
        logits = model(ids[None], torch.arange(end - begin)[None])[0]  # [S, V]
        # logits[i] predicts token begin + i + 1; score tokens scored_until .. end - 1.
        first = scored_until - begin - 1
        log_probs = F.log_softmax(logits[first : end - begin - 1].float(), dim=-1)  # [n, V]
        targets = tokens[scored_until:end]  # [n]
        nll -= float(log_probs.gather(1, targets[:, None]).sum())
        # The next window must hold the token before its first target (stride == window).
        scored_until, begin = end, min(begin + stride, end - 1)
    return math.exp(nll / (total - 1))
