"""The repetition guard on real models: the haiku prompt that made small models repeat a line
over and over keeps every line to at most two copies once the guard is on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gguf import GGUFReader

from twincore.model_core.backends.core_cache import load_core_model
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.repetition import RepetitionGuard, normalise_line
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import GenerationRequest
from twincore.model_core.loader import load_model
from twincore.model_core.tokenizer import Tokenizer

HAIKU = [{"role": "user", "content": "Write a haiku about autumn rain."}]
# The writing service's haiku prompt as it was when users saw the loop (frozen here, so the
# service's prompt can change without this test losing its failing case): SmolLM2 greedy
# repeated its first two lines five times in 96 tokens.
WRITING_SYSTEM = (
    "You are a skilled writer. Write in this style: Haiku.\n"
    "Three lines of 5, 7 and 5 syllables (CMUdict counts), an image from nature.\n\n"
    "How to write it:\nWrite a haiku in English: exactly three lines of 5, 7 and 5 syllables, "
    "a concrete image\nfrom nature or a season. Output only the three lines.\n\n"
    "The text must meet every one of these rules:\n- three lines\n- 5-7-5 syllables\n\n"
    "Examples of the style:\nExample 1:\nAn old stone lantern\nholds a puddle of spring rain\n"
    "a frog wakes inside\n\n\nExample 2:\nMorning fog lifting\nthe fishing boat appears slow\n"
    "one gull on the mast\n\n\nExample 3:\nSnow on the mailbox\nno letters came all winter\n"
    "a cardinal waits\n\n\n"
    "Answer with the text only: no title, no explanation, no quotation marks."
)
WRITING = [
    {"role": "system", "content": WRITING_SYSTEM},
    {"role": "user", "content": "Write a text in this style about: autumn rain"},
]
SETTINGS = [(0.0, None), (0.8, 1), (0.8, 2)]


def most_copies(text: str) -> int:
    """Copies of the most repeated line, compared as the guard compares lines."""
    lines = Counter(key for line in text.splitlines() if (key := normalise_line(line)))
    return max(lines.values(), default=0)


def _run(engine: Engine, tokenizer: Tokenizer, chat: list[dict[str, str]], **params: object) -> str:
    ids = tuple(tokenizer.encode_chat(chat))
    request = GenerationRequest(ids, SamplingParams(max_tokens=96, **params))  # type: ignore[arg-type]
    return engine.complete(request).texts[0]


@pytest.fixture(scope="module")
def smollm2(default_gguf: Callable[[str], Path]) -> Iterator[tuple[Engine, Tokenizer]]:
    reader = GGUFReader(default_gguf("smollm2-135m-instruct"))
    tokenizer = Tokenizer.from_gguf(reader)
    engine = Engine(load_model(reader), tokenizer)
    yield engine, tokenizer
    engine.close()


def test_smollm2_repeats_a_line_without_the_guard_and_not_with_it(
    smollm2: tuple[Engine, Tokenizer],
) -> None:
    engine, tokenizer = smollm2
    unguarded = _run(engine, tokenizer, WRITING)
    assert most_copies(unguarded) >= 3, unguarded  # the failing case the guard must change
    guarded = _run(engine, tokenizer, WRITING, repetition_guard=RepetitionGuard())
    assert most_copies(guarded) <= 2, guarded
    assert guarded != unguarded


@pytest.mark.parametrize("temperature, seed", SETTINGS)
def test_smollm2_haiku_lines_appear_at_most_twice(
    smollm2: tuple[Engine, Tokenizer], temperature: float, seed: int | None
) -> None:
    engine, tokenizer = smollm2
    for chat in (HAIKU, WRITING):
        text = _run(
            engine, tokenizer, chat, temperature=temperature, seed=seed,
            repetition_guard=RepetitionGuard(),
        )  # fmt: skip
        assert most_copies(text) <= 2, text


@pytest.mark.slow
def test_swift_haiku_lines_appear_at_most_twice(session_data_dir: Path) -> None:
    model, tokenizer, _ = load_core_model(
        "qwen2.5-coder-0.5b-instruct", "int8", data_dir=session_data_dir
    )
    engine = Engine(model, tokenizer)
    try:
        for temperature, seed in [*SETTINGS, (0.8, 3)]:
            for chat in (HAIKU, WRITING):
                text = _run(
                    engine, tokenizer, chat, temperature=temperature, seed=seed,
                    repetition_guard=RepetitionGuard(),
                )  # fmt: skip
                assert most_copies(text) <= 2, text
    finally:
        engine.close()
