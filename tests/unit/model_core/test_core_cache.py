"""The core cache on a tiny checkpoint folder, and tokenizers saved and read back by `from_dir`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, decoders, pre_tokenizers
from tokenizers import Tokenizer as Backend
from tokenizers.models import BPE

from twincore.model_core.backends import core_cache
from twincore.model_core.backends.core_cache import (
    CORES_DIR,
    cache_slug,
    evict_entries,
    load_core_model,
)
from twincore.model_core.config import load_preset, to_hf_config
from twincore.model_core.generate import greedy_generate
from twincore.model_core.loader import init_random
from twincore.model_core.model import Transformer
from twincore.model_core.quant import META_FILE, WEIGHTS_FILE, QuantMode, save_quantized
from twincore.model_core.sources import resolve_source
from twincore.model_core.tokenizer import Tokenizer, bytes_to_unicode
from twincore.model_core.weights import resolve_default_model

from .test_tokenizer import _write_gguf

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"]
BYTES = sorted(bytes_to_unicode().values(), key=ord)
MERGES = ["Ġ t", "h e", "Ġt he", "1 2"]
TOKENS = SPECIALS + BYTES + ["Ġt", "he", "Ġthe", "12"]
TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TEXTS = [
    " the 12 cats",
    "<|im_start|>user\nhi<|im_end|> <think>x</think>",
    "naïve 你好 🎉\n\t  ",
    "",
]
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "the 12?"}]


def _tokenizer_folder(directory: Path) -> Path:
    """A Hugging Face style tokenizer folder whose config asks for a BOS (a post-processor)."""
    backend = Backend(BPE(vocab={t: i for i, t in enumerate(TOKENS)}, merges=_pairs()))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(t, special=True) for t in SPECIALS[:3]])
    backend.add_tokens([AddedToken("<think>", special=False)])
    directory.mkdir(parents=True, exist_ok=True)
    backend.save(str(directory / "tokenizer.json"))
    config = {
        "bos_token": {"content": "<|endoftext|>", "special": True},
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "add_bos_token": True,
        "chat_template": TEMPLATE,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
    (directory / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 1]}))
    return directory


def _pairs() -> list[tuple[str, str]]:
    return [(left, right) for left, right in (merge.split(" ") for merge in MERGES)]


def _checkpoint(directory: Path) -> Path:
    """swift-tiny with random weights as a DeepSeek-V3 safetensors folder, with a tokenizer."""
    config = load_preset("swift-tiny")
    _tokenizer_folder(directory)
    save_file(init_random(config, seed=0).state_dict(), str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(to_hf_config(config)))
    return directory


def _assert_same_tokenizer(ours: Tokenizer, other: Tokenizer) -> None:
    for text in TEXTS:
        for special in (False, True):
            assert ours.encode(text, add_special_tokens=special) == other.encode(
                text, add_special_tokens=special
            )
    ids = ours.encode(TEXTS[1])
    assert ours.decode(ids) == other.decode(ids)
    assert ours.decode(ids, skip_special_tokens=False) == other.decode(
        ids, skip_special_tokens=False
    )
    assert ours.render_chat(CHAT) == other.render_chat(CHAT)
    assert ours.encode_chat(CHAT) == other.encode_chat(CHAT)
    assert ours.encode_chat(CHAT, add_generation_prompt=False) == other.encode_chat(
        CHAT, add_generation_prompt=False
    )
    assert (ours.bos_id, ours.eos_id, ours.stop_ids) == (other.bos_id, other.eos_id, other.stop_ids)
    assert ours.vocab_size == other.vocab_size


@pytest.fixture(scope="module")
def smollm2_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    data_dir = tmp_path_factory.mktemp("data")  # SmolLM2 is used in place: nothing assembled
    return Tokenizer.from_gguf(resolve_default_model("smollm2-135m-instruct", data_dir=data_dir))


@pytest.mark.parametrize("kind", ["folder", "gguf", "smollm2"])
def test_saved_tokenizer_reads_back_the_same(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "folder":
        original = Tokenizer.from_dir(_tokenizer_folder(tmp_path / "hf"))
        assert original.encode("the", add_special_tokens=True)[0] == 0  # the BOS flag applies
    elif kind == "gguf":
        original = Tokenizer.from_gguf(_write_gguf(tmp_path / "t.gguf"))
    else:
        original = request.getfixturevalue("smollm2_tokenizer")
    original.save(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text())
    assert "add_bos_token" not in config and "add_eos_token" not in config
    _assert_same_tokenizer(Tokenizer.from_dir(tmp_path / "saved"), original)


def _generate(model: Transformer, tokenizer: Tokenizer) -> list[int]:
    return greedy_generate(model, tokenizer.encode_chat(CHAT), 12)


def _entries(data_dir: Path) -> list[Path]:
    return sorted((data_dir / CORES_DIR).iterdir())


def test_first_load_converts_and_caches_then_the_cache_serves(tmp_path: Path) -> None:
    checkpoint = str(_checkpoint(tmp_path / "ckpt"))
    model, tokenizer, from_cache = load_core_model(checkpoint, "int8", data_dir=tmp_path)
    assert not from_cache
    [entry] = _entries(tmp_path)
    assert entry.name.startswith("ckpt-int8-")
    assert {WEIGHTS_FILE, META_FILE, "tokenizer.json"} <= {p.name for p in entry.iterdir()}

    cached_model, cached_tokenizer, from_cache = load_core_model(
        checkpoint, "int8", data_dir=tmp_path
    )
    assert from_cache
    _assert_same_tokenizer(cached_tokenizer, tokenizer)
    expected = _generate(model, tokenizer)
    assert len(expected) == 12 and _generate(cached_model, cached_tokenizer) == expected


def test_each_mode_and_each_version_of_the_source_has_its_own_entry(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path / "ckpt")
    load_core_model(str(checkpoint), "int8", data_dir=tmp_path, keep_per_model=3)
    assert not load_core_model(str(checkpoint), "int4", data_dir=tmp_path, keep_per_model=3)[2]
    assert len(_entries(tmp_path)) == 2
    (checkpoint / "generation_config.json").write_text(json.dumps({"eos_token_id": [1]}))
    assert not load_core_model(str(checkpoint), "int8", data_dir=tmp_path, keep_per_model=3)[2]
    assert len(_entries(tmp_path)) == 3


def test_the_least_recently_used_entry_of_a_model_is_evicted(tmp_path: Path) -> None:
    checkpoint = str(_checkpoint(tmp_path / "ckpt"))
    load_core_model(checkpoint, "int8", data_dir=tmp_path)
    load_core_model(checkpoint, "int4", data_dir=tmp_path)
    [int4_entry, int8_entry] = _entries(tmp_path)
    assert load_core_model(checkpoint, "int8", data_dir=tmp_path)[2]  # a hit: int8 used last
    (Path(checkpoint) / "generation_config.json").write_text(json.dumps({"eos_token_id": [1]}))
    model, tokenizer, from_cache = load_core_model(checkpoint, "int4", data_dir=tmp_path)
    assert not from_cache
    [new_int4] = [e for e in _entries(tmp_path) if e != int8_entry]
    assert new_int4 != int4_entry and not int4_entry.exists()  # older by use than int8
    assert _generate(model, tokenizer)  # the model in use was not disturbed


def _fake_entry(cores: Path, name: str, *, age_s: float, size: int) -> Path:
    entry = cores / name
    entry.mkdir(parents=True)
    (entry / WEIGHTS_FILE).write_bytes(b"\0" * size)
    used = time.time() - age_s
    os.utime(entry, (used, used))
    return entry


def test_eviction_keeps_the_newest_per_model_name_and_the_entry_in_use(tmp_path: Path) -> None:
    cores = tmp_path / CORES_DIR
    newest, middle, oldest = (
        _fake_entry(cores, f"deep-{mode}-{age:016x}", age_s=age, size=10)
        for mode, age in (("int8", 10), ("int4", 20), ("int8", 30))
    )
    other = _fake_entry(cores, f"swift-int8-{0:016x}", age_s=99, size=10)
    writing = _fake_entry(cores, f".deep-int8-{1:016x}.abc.tmp", age_s=99, size=10)
    foreign = _fake_entry(cores, "notes", age_s=99, size=10)

    evicted = evict_entries(cores, in_use=oldest, keep_per_model=2)
    assert evicted == [middle]  # the one in use counts against its model's two
    assert sorted(_entries(tmp_path)) == sorted([newest, oldest, other, writing, foreign])
    assert evict_entries(cores, in_use=oldest, keep_per_model=1) == [newest]


def test_a_byte_budget_evicts_the_least_recently_used_first(tmp_path: Path) -> None:
    cores = tmp_path / CORES_DIR
    entries = [
        _fake_entry(cores, f"m{i}-int8-{i:016x}", age_s=10 * (i + 1), size=100) for i in range(4)
    ]  # entries[0] is the most recent
    assert evict_entries(cores, in_use=entries[0], max_bytes=250) == [entries[3], entries[2]]
    # The entry in use stays even when it alone breaks the budget; the others go.
    assert evict_entries(cores, in_use=entries[1], max_bytes=50) == [entries[0]]
    assert _entries(tmp_path) == [entries[1]]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda e: (e / WEIGHTS_FILE).write_bytes(b"\0" * 100), id="truncated"),
        pytest.param(lambda e: (e / META_FILE).unlink(), id="no-meta"),
        pytest.param(lambda e: (e / "tokenizer.json").write_text("{"), id="bad-tokenizer"),
    ],
)
def test_a_damaged_entry_is_rebuilt(damage: Callable[[Path], object], tmp_path: Path) -> None:
    checkpoint = str(_checkpoint(tmp_path / "ckpt"))
    model, tokenizer, _ = load_core_model(checkpoint, "int8", data_dir=tmp_path)
    damage(_entries(tmp_path)[0])
    rebuilt, _, from_cache = load_core_model(checkpoint, "int8", data_dir=tmp_path)
    assert not from_cache
    assert _generate(rebuilt, tokenizer) == _generate(model, tokenizer)
    assert load_core_model(checkpoint, "int8", data_dir=tmp_path)[2]


def test_a_rival_entry_written_first_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = str(_checkpoint(tmp_path / "ckpt"))
    source = resolve_source(checkpoint, data_dir=tmp_path)
    entry = tmp_path / CORES_DIR / cache_slug(source, "int8")
    convert = core_cache._convert

    def convert_while_a_rival_finishes(
        path: Path, mode: QuantMode
    ) -> tuple[Transformer, Tokenizer]:
        model, tokenizer = convert(path, mode)
        save_quantized(model, entry, source="rival")
        tokenizer.save(entry)
        return model, tokenizer

    monkeypatch.setattr(core_cache, "_convert", convert_while_a_rival_finishes)
    assert not load_core_model(checkpoint, "int8", data_dir=tmp_path)[2]
    assert _entries(tmp_path) == [entry]  # no temporary folder left behind
    assert json.loads((entry / META_FILE).read_text())["source"] == "rival"


def test_no_cache_for_float_models_or_an_unwritable_cache(tmp_path: Path) -> None:
    checkpoint = str(_checkpoint(tmp_path / "ckpt"))
    model, _, from_cache = load_core_model(checkpoint, "none", data_dir=tmp_path)
    assert not from_cache and model.model.embed_tokens.weight.dtype == torch.bfloat16
    assert not (tmp_path / CORES_DIR).exists()
    (tmp_path / CORES_DIR).write_text("not a folder")
    assert not load_core_model(checkpoint, "int8", data_dir=tmp_path)[2]


def test_presets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="preset without weights"):
        load_core_model("swift-tiny", "int8", data_dir=tmp_path)
