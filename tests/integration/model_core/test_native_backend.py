"""NativeBackend: the swift default core served through the CoreBackend seam."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from twincore.model_core.backends.base import CoreBackend, CoreRequest
from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk


def test_swift_core_answers_a_chat_through_the_seam(
    default_gguf: Callable[[str], Path], tmp_path: Path
) -> None:
    gguf = default_gguf("smollm2-135m-instruct")
    backend = NativeBackend(CoreProfile("swift", str(gguf), quantization="int8"), data_dir=tmp_path)
    try:
        seam: CoreBackend = backend  # structural check: NativeBackend satisfies the protocol
        request = CoreRequest(
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            params=backend.default_params(max_tokens=16),
        )

        async def collect() -> list[Chunk]:
            return [chunk async for chunk in seam.generate(request)]

        chunks = asyncio.run(collect())
        text = "".join(c.text for c in chunks)
        assert "Paris" in text
        assert chunks[-1].finish_reason in ("stop", "length")
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        info = seam.info()
        assert info["core"] == "swift" and info["quantization"] == "int8"
        assert info["attention"] == "gqa" and info["total_params"] > 100e6
        assert seam.health()["ok"] is True
    finally:
        backend.close()


def test_a_request_needs_messages_or_a_prompt() -> None:
    with pytest.raises(ValueError, match="messages or a prompt"):
        CoreRequest(params=SamplingParams())
