"""GGUF paths fuzzed: a tiny valid file, truncated, overwritten and given odd metadata, goes where
a model path is accepted (`resolve_source` then `source_config`: `twincore model info`, the
cores' settings); the only failure allowed is the ValueError (or OSError) callers report."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gguf
import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from twincore.model_core.sources import resolve_source, source_config

EXAMPLES = 150
FIELDS = {
    "llama.embedding_length": 8,
    "llama.block_count": 1,
    "llama.feed_forward_length": 16,
    "llama.attention.head_count": 2,
    "llama.context_length": 64,
}


def tiny_gguf(overrides: dict[str, object] | None = None, *, width: int = 8) -> bytes:
    """A llama GGUF that `config_from_gguf` reads: the metadata above over a 4 x `width`
    embedding (`overrides` replaces or drops, with None, metadata values)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.gguf"
        writer = gguf.GGUFWriter(path, "llama")
        for key, value in {**FIELDS, **(overrides or {})}.items():
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int):
                writer.add_int64(key, value)
            elif isinstance(value, float):
                writer.add_float32(key, value)
            elif isinstance(value, str):
                writer.add_string(key, value)
            else:
                writer.add_array(key, list(value))  # type: ignore[call-overload]
        writer.add_tensor("token_embd.weight", np.zeros((4, width), dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path.read_bytes()


VALID = tiny_gguf()
odd_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 3, 2**40]),
    st.floats(width=32, allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3),
    st.none(),
)


@st.composite
def odd_metadata(draw: st.DrawFn) -> bytes:
    """Well-formed files whose metadata values are wrong: zero heads, strings for counts,
    missing fields, an embedding whose width disagrees."""
    keys = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3, unique=True))
    overrides = {key: draw(odd_values) for key in keys}
    return tiny_gguf(overrides, width=draw(st.sampled_from([8, 6, 1])))


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """The valid file cut short or with a few bytes overwritten (lengths, counts, types)."""
    data = bytearray(VALID)
    if draw(st.booleans()):
        del data[draw(st.integers(min_value=0, max_value=len(data) - 1)) :]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        patch = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x7f", b"\x10\x00\x00\x00"]))
        data[at : at + len(patch)] = patch
    return bytes(data)


gguf_files = st.one_of(damaged(), odd_metadata(), st.binary(max_size=64).map(lambda b: b"GGUF" + b))


@hypothesis.settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True
)
@hypothesis.given(gguf_files)
def test_a_broken_gguf_path_is_refused_with_a_value_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.gguf"
        path.write_bytes(content)
        try:
            source_config(resolve_source(str(path), data_dir=Path(tmp)))
        except (ValueError, OSError) as error:
            assert str(error)  # the reason the CLI prints


def test_the_unbroken_file_reads_so_the_fuzzing_starts_from_a_real_gguf(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(VALID)
    config = source_config(resolve_source(str(path), data_dir=tmp_path))
    assert (config.vocab_size, config.hidden_size, config.num_heads) == (4, 8, 2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"llama.attention.head_count": 0}, "head_count"),
        ({"llama.block_count": None}, "block_count"),
        ({"llama.attention.head_count": "two"}, "head_count"),
    ],
    ids=["zero-heads", "no-block-count", "text-heads"],
)
def test_broken_metadata_names_the_field(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(tiny_gguf(overrides))
    with pytest.raises(ValueError, match=message):
        source_config(resolve_source(str(path), data_dir=tmp_path))
