"""The default models, loaded from their installed packages, generate exactly as transformers does.

Both sides load the same GGUF dequantized to float32; greedy continuations of three chat
prompts must agree token for token (32 tokens for SmolLM2-135M and Qwen2.5-Coder-0.5B, the swift
default; 16 for Qwen2.5-Coder-1.5B, the deep default).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import load_model
from twincore.model_core.tokenizer import Tokenizer

PROMPTS = [
    [{"role": "user", "content": "Solve 3x + 7 = 22 for x. Show the steps."}],
    [{"role": "user", "content": "Write a Python function is_palindrome(s) that ignores case."}],
    [
        {"role": "system", "content": "You are a helpful customer support agent."},
        {"role": "user", "content": "My order has not arrived after two weeks. What can I do?"},
    ],
]


def _reference(gguf: Path, new_tokens: int) -> tuple[list[list[int]], list[list[int]]]:
    """Prompt ids and greedy continuations from transformers (float32, same GGUF)."""
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    prompts, outputs = [], []
    with torch.inference_mode():
        for messages in PROMPTS:
            ids = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )["input_ids"]
            out = model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, do_sample=False
            )
            prompts.append(ids[0].tolist())
            outputs.append(out[0, ids.shape[1] :].tolist())
    del model
    gc.collect()
    return prompts, outputs


@pytest.mark.parametrize(
    ("name", "new_tokens"),
    [
        ("smollm2-135m-instruct", 32),
        ("qwen2.5-coder-0.5b-instruct", 32),
        ("qwen2.5-coder-1.5b-instruct", 16),
    ],
)
def test_greedy_continuations_equal_transformers(
    name: str, new_tokens: int, default_gguf: Callable[[str], Path]
) -> None:
    gguf = default_gguf(name)
    reference_prompts, reference_outputs = _reference(gguf, new_tokens)
    tokenizer = Tokenizer.from_gguf(gguf)
    model = load_model(gguf)
    cases = zip(PROMPTS, reference_prompts, reference_outputs, strict=True)
    for messages, prompt, expected in cases:
        ids = tokenizer.encode_chat(messages)
        assert ids == prompt
        stop = [tokenizer.eos_id] if tokenizer.eos_id is not None else []
        expected = [t for t in expected if t not in stop]
        assert greedy_generate(model, ids, new_tokens, stop) == expected
