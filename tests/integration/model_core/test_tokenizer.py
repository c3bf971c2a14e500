"""Both default GGUFs tokenize and chat-format exactly as transformers does with the same file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

from twincore.model_core.tokenizer import IncrementalDecoder, Tokenizer

MODELS = ["smollm2-135m-instruct", "qwen2.5-coder-1.5b-instruct"]

TEXTS = [
    "Hello, world! How are you today?",
    "你好，世界！今天我们来写一个排序函数。",  # noqa: RUF001 (real fullwidth punctuation)
    "def add(a, b):\n    return a + b\n\n\tif x:\n\t\treturn 12345\n",
    "numbers 12345 and 3.14159, year 2024, 1,000,000",
    "emoji 🎉🚀👍🏽 and a flag 🇫🇷",
    "before <|im_start|>user\nhi<|im_end|> after <|endoftext|>",
    '<tool_call>{"name": "f"}</tool_call>',
    "   leading and trailing whitespace   \n\n",
    "I'm sure they'LL say it's fine, can't they?",
    "naïve café ünïcödé, 日本語 and 한국어",
    "\r\n\t  \n",
    "",
]

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2 + 2?"}],
    [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Write hello world in Python."},
    ],
    [
        {"role": "system", "content": "Answer in Chinese."},
        {"role": "user", "content": "Name a sorting algorithm."},
        {"role": "assistant", "content": "快速排序（quicksort）。"},  # noqa: RUF001
        {"role": "user", "content": "And its complexity?\n  Be precise."},
    ],
]


@pytest.fixture(scope="module", params=MODELS)
def pair(
    request: pytest.FixtureRequest, default_gguf: Callable[[str], Path]
) -> tuple[Tokenizer, Any]:
    """Our tokenizer and transformers' tokenizer, both built from the same GGUF."""
    gguf = default_gguf(request.param)
    reference = AutoTokenizer.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, local_files_only=True
    )
    return Tokenizer.from_gguf(gguf), reference


def test_encode_matches_transformers(pair: tuple[Tokenizer, Any]) -> None:
    ours, reference = pair
    mismatches = [
        (text, special)
        for text in TEXTS
        for special in (False, True)
        if ours.encode(text, add_special_tokens=special)
        != reference.encode(text, add_special_tokens=special)
    ]
    assert mismatches == []


def test_special_ids_and_sizes_match_transformers(pair: tuple[Tokenizer, Any]) -> None:
    ours, reference = pair
    assert ours.vocab_size == len(reference)
    assert ours.bos_id == reference.bos_token_id
    assert ours.eos_id == reference.eos_token_id
    im_end, endoftext = (ours.backend.token_to_id(t) for t in ("<|im_end|>", "<|endoftext|>"))
    assert ours.stop_ids[0] == ours.eos_id
    assert {im_end, endoftext} <= set(ours.stop_ids)
    # Special tokens in text are matched whole, as one id each.
    assert ours.encode("<|im_start|>") == [ours.backend.token_to_id("<|im_start|>")]


def test_decode_round_trips(pair: tuple[Tokenizer, Any]) -> None:
    ours, reference = pair
    for text in TEXTS:
        ids = ours.encode(text)
        assert ours.decode(ids, skip_special_tokens=False) == text
        assert ours.decode(ids) == reference.decode(ids, skip_special_tokens=True)


def test_streaming_decode_emits_only_whole_characters(pair: tuple[Tokenizer, Any]) -> None:
    ours, _ = pair
    for text in TEXTS:
        decoder = IncrementalDecoder(ours, skip_special_tokens=False)
        pieces = [decoder.push(token) for token in ours.encode(text)] + [decoder.flush()]
        assert all("\ufffd" not in piece for piece in pieces), pieces
        assert "".join(pieces) == text


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=["user", "system", "multi-turn"])
def test_render_chat_matches_transformers(
    pair: tuple[Tokenizer, Any], conversation: list[dict[str, str]]
) -> None:
    ours, reference = pair
    expected = reference.apply_chat_template(
        conversation, tokenize=False, add_generation_prompt=True
    )
    assert ours.render_chat(conversation) == expected
    assert ours.encode_chat(conversation) == reference.encode(expected, add_special_tokens=False)
    without_prompt = reference.apply_chat_template(
        conversation, tokenize=False, add_generation_prompt=False
    )
    assert ours.render_chat(conversation, add_generation_prompt=False) == without_prompt
