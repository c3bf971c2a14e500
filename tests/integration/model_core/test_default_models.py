"""The default models, loaded from their installed packages, generate exactly as transformers does.

Both sides load the same GGUF dequantized to float32; greedy continuations of three chat
prompts must agree token for token (32 tokens for SmolLM2-135M and Qwen2.5-Coder-0.5B, the swift
default; 16 for Qwen2.5-Coder-1.5B, the deep default).

SmolLM2 is compared with transformers live. For the two Qwen defaults transformers' side is
recorded in `tests/data/reference/default_continuations.json`: transformers spends about two
minutes per model de-quantizing a GGUF in Python, which CI cannot afford on every run. The
record names the weights' SHA-256 (the packages' pinned digest, verified when the parts are
joined) and the transformers version; re-record after changing either with
`.venv/bin/python tests/integration/model_core/test_default_models.py`.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import load_model
from twincore.model_core.tokenizer import Tokenizer
from twincore.model_core.weights import DEFAULT_MODELS, resolve_default_model

PROMPTS = [
    [{"role": "user", "content": "Solve 3x + 7 = 22 for x. Show the steps."}],
    [{"role": "user", "content": "Write a Python function is_palindrome(s) that ignores case."}],
    [
        {"role": "system", "content": "You are a helpful customer support agent."},
        {"role": "user", "content": "My order has not arrived after two weeks. What can I do?"},
    ],
]
NEW_TOKENS = {
    "smollm2-135m-instruct": 32,
    "qwen2.5-coder-0.5b-instruct": 32,
    "qwen2.5-coder-1.5b-instruct": 16,
}
RECORDED = ["qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"]
RECORD_FILE = Path(__file__).parents[2] / "data" / "reference" / "default_continuations.json"


def transformers_continuations(gguf: Path, new_tokens: int) -> dict[str, list[list[int]]]:
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
    return {"prompts": prompts, "outputs": outputs}


def recorded(name: str) -> dict[str, Any]:
    """The recorded transformers side for `name`, checked to match these weights and prompts."""
    record: dict[str, Any] = json.loads(RECORD_FILE.read_text())[name]
    assert record["sha256"] == DEFAULT_MODELS[name].sha256, f"re-record {name}: weights changed"
    assert record["messages"] == PROMPTS and record["new_tokens"] == NEW_TOKENS[name], (
        f"re-record {name}: prompts or lengths changed"
    )
    return record


@pytest.mark.parametrize("name", list(NEW_TOKENS))
def test_greedy_continuations_equal_transformers(
    name: str, default_gguf: Callable[[str], Path]
) -> None:
    gguf = default_gguf(name)
    new_tokens = NEW_TOKENS[name]
    live = name not in RECORDED
    reference = transformers_continuations(gguf, new_tokens) if live else recorded(name)
    tokenizer = Tokenizer.from_gguf(gguf)
    model = load_model(gguf)
    cases = zip(PROMPTS, reference["prompts"], reference["outputs"], strict=True)
    for messages, prompt, expected in cases:
        ids = tokenizer.encode_chat(messages)
        assert ids == prompt
        stop = [tokenizer.eos_id] if tokenizer.eos_id is not None else []
        expected = [t for t in expected if t not in stop]
        assert greedy_generate(model, ids, new_tokens, stop) == expected


def record() -> None:
    """Run transformers on the recorded defaults and write the reference file."""
    records: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        for name in RECORDED:
            gguf = resolve_default_model(name, data_dir=Path(data_dir))
            records[name] = {
                "sha256": DEFAULT_MODELS[name].sha256,
                "transformers": transformers.__version__,
                "torch": torch.__version__,
                "messages": PROMPTS,
                "new_tokens": NEW_TOKENS[name],
                **transformers_continuations(gguf, NEW_TOKENS[name]),
            }
            print(f"recorded {name}", file=sys.stderr)
    RECORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    RECORD_FILE.write_text(json.dumps(records, indent=1) + "\n")


if __name__ == "__main__":
    record()
