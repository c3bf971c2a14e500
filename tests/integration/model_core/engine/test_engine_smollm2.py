"""The engine on the real SmolLM2-135M (GQA): plain-loop equality, batching, stops, text."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gguf import GGUFReader

from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import EngineConfig, GenerationRequest
from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import load_model
from twincore.model_core.model import Transformer
from twincore.model_core.tokenizer import Tokenizer

QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about autumn.",
    "List three prime numbers.",
    "Explain recursion in one sentence.",
    "What is 12 times 12?",
    "Name a famous painter.",
    "How do I boil an egg?",
    "Translate 'good morning' into Spanish.",
    "Why is the sky blue?",
    "Give me a word that rhymes with cat.",
    "What does HTTP stand for?",
    "Suggest a name for a cat.",
    "What is the boiling point of water?",
    "Who wrote Hamlet?",
    "Describe a rainbow.",
    "What is photosynthesis?",
]


@pytest.fixture(scope="module")
def smollm2(
    default_gguf: Callable[[str], Path],
) -> tuple[Transformer, Tokenizer]:
    reader = GGUFReader(default_gguf("smollm2-135m-instruct"))
    return load_model(reader), Tokenizer.from_gguf(reader)


@pytest.fixture
def engine(smollm2: tuple[Transformer, Tokenizer]) -> Iterator[Engine]:
    engine = Engine(*smollm2, EngineConfig(block_size=16, num_blocks=512, max_batch_tokens=32))
    yield engine
    engine.close()


def _prompt(tokenizer: Tokenizer, question: str) -> tuple[int, ...]:
    return tuple(tokenizer.encode_chat([{"role": "user", "content": question}]))


def test_sixteen_batched_streams_equal_the_plain_loop(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    model, tokenizer = smollm2
    prompts = [_prompt(tokenizer, q) for q in QUESTIONS]
    expected = [greedy_generate(model, p, 12, tokenizer.stop_ids) for p in prompts]
    results: dict[int, list[int]] = {}

    def run(i: int) -> None:
        request = GenerationRequest(prompts[i], SamplingParams(max_tokens=12))
        results[i] = engine.complete(request).token_ids[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for i, thread in enumerate(threads):  # join at different steps
        thread.start()
        if i in (3, 9):
            threads[0].join()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(16)] == expected
    again = engine.complete(GenerationRequest(prompts[5], SamplingParams(max_tokens=12)))
    assert again.token_ids[0] == expected[5]  # prefix cache hot
    assert again.usage.cached_prompt_tokens > 0


def test_stop_string_and_max_tokens_end_streams(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    prompt = _prompt(tokenizer, "What is the capital of France?")
    free = engine.complete(GenerationRequest(prompt, SamplingParams(max_tokens=20)))
    text = free.texts[0]
    assert "Paris" in text
    stopped = engine.complete(
        GenerationRequest(prompt, SamplingParams(max_tokens=20, stop=("Paris",)))
    )
    assert stopped.finish_reasons == ["stop"]
    assert stopped.texts[0] == text[: text.index("Paris")]
    short = engine.complete(GenerationRequest(prompt, SamplingParams(max_tokens=3)))
    assert short.finish_reasons == ["length"]
    assert len(short.token_ids[0]) == 3
    assert short.texts[0] == tokenizer.decode(short.token_ids[0])
    assert engine.stats()["blocks_used"] == 0


def test_streamed_text_equals_decoded_tokens_for_chinese(
    smollm2: tuple[Transformer, Tokenizer], engine: Engine
) -> None:
    _, tokenizer = smollm2
    prompt = _prompt(tokenizer, "请用中文介绍一下你自己。")
    chunks = list(engine.stream(GenerationRequest(prompt, SamplingParams(max_tokens=24))))
    ids = [t for c in chunks for t in c.token_ids]
    assert "".join(c.text for c in chunks) == tokenizer.decode(ids)
    assert all("\ufffd" not in c.text for c in chunks[:-1])
