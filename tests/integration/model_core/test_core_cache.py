"""The swift default core (SmolLM2) started from its GGUF, then from the core cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.core_cache import CORES_DIR
from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.model_core.generate import greedy_generate
from twincore.model_core.quant import WEIGHTS_FILE

MODEL = "smollm2-135m-instruct"  # used in place from its data package: nothing is assembled
CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def _start(data_dir: Path, quantization: str = "int8") -> NativeBackend:
    profile = CoreProfile("swift", MODEL, quantization=quantization)  # type: ignore[arg-type]
    return NativeBackend(profile, data_dir=data_dir)


def _answer(backend: NativeBackend) -> tuple[list[int], str]:
    """Greedy tokens from the reference loop, and the text the engine streams for the same chat."""
    tokens = greedy_generate(
        backend.model, backend.tokenizer.encode_chat(CHAT), 16, backend.tokenizer.stop_ids
    )
    request = CoreRequest(messages=CHAT, params=backend.default_params(max_tokens=16))

    async def collect() -> str:
        return "".join([chunk.text async for chunk in backend.generate(request)])

    return tokens, asyncio.run(collect())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


def _entries(data_dir: Path) -> list[Path]:
    return sorted((data_dir / CORES_DIR).iterdir())


def test_a_cached_core_answers_exactly_as_the_converted_one(data_dir: Path) -> None:
    converted = _start(data_dir)
    try:
        assert not converted.from_cache
        expected = _answer(converted)
    finally:
        converted.close()
    assert "Paris" in expected[1]
    [entry] = _entries(data_dir)
    assert entry.name.startswith(f"{MODEL}-int8-")

    cached = _start(data_dir)
    try:
        assert cached.from_cache
        # The CPU kernels crash on data that is not 64-byte aligned; a file read hands some out.
        misaligned = [n for n, t in cached.model.state_dict().items() if t.data_ptr() % 64]
        assert not misaligned
        assert _answer(cached) == expected
        assert cached.info()["quantization"] == "int8"
    finally:
        cached.close()


def test_another_mode_gets_its_own_entry(data_dir: Path) -> None:
    before = _entries(data_dir)
    backend = _start(data_dir, "int4")
    backend.close()
    assert not backend.from_cache
    assert len(_entries(data_dir)) == len(before) + 1


def test_a_truncated_entry_is_rebuilt(data_dir: Path) -> None:
    _start(data_dir).close()  # the int8 entry exists (from this module or now)
    [entry] = [e for e in _entries(data_dir) if e.name.startswith(f"{MODEL}-int8-")]
    weights = entry / WEIGHTS_FILE
    with weights.open("r+b") as file:
        file.truncate(weights.stat().st_size // 2)
    rebuilt = _start(data_dir)
    try:
        assert not rebuilt.from_cache
        assert "Paris" in _answer(rebuilt)[1]
    finally:
        rebuilt.close()
    cached = _start(data_dir)
    cached.close()
    assert cached.from_cache
