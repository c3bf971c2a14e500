"""Tokenizer on tiny hand-made GGUF files and tokenizer folders: no model files needed."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import jinja2
import pytest
import tokenizers
from tokenizers.models import BPE

from twincore.model_core.tokenizer import IncrementalDecoder, Tokenizer, bytes_to_unicode

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>"]
BYTES = sorted(bytes_to_unicode().values(), key=lambda c: ord(c))
MERGED = ["Ġt", "he", "Ġthe", "12"]
TOKENS = SPECIALS + BYTES + MERGED
TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}\n"
    "    {% if m['role'] == 'tool' %}{{ raise_exception('no tools here') }}{% endif %}\n"
    "{% generation %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endgeneration %}\n"
    "{% endfor %}\n"
    "{% if add_generation_prompt %}\n"
    "<|im_start|>assistant\n"
    "{% endif %}"
)


def _id(token: str) -> int:
    return TOKENS.index(token)


def _write_gguf(path: Path, *, pre: str = "qwen2", model: str = "gpt2") -> Path:
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_tokenizer_model(model)
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(TOKENS)
    writer.add_token_types([3, 3, 3, 4] + [1] * (len(TOKENS) - 4))
    writer.add_token_merges(["Ġ t", "h e", "Ġt he", "1 2"])
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_chat_template(TEMPLATE)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Tokenizer:
    return Tokenizer.from_gguf(_write_gguf(tmp_path / "tiny.gguf"))


def test_gguf_vocabulary_merges_and_special_ids(tiny: Tokenizer) -> None:
    assert tiny.vocab_size == len(TOKENS)
    assert (tiny.bos_id, tiny.eos_id) == (0, 2)
    assert tiny.stop_ids == (2, 0)
    assert tiny.encode(" the") == [_id("Ġthe")]
    assert tiny.encode("the", add_special_tokens=True) == [0, _id("t"), _id("he")]


def test_an_open_reader_can_be_shared(tmp_path: Path) -> None:
    reader = gguf.GGUFReader(_write_gguf(tmp_path / "tiny.gguf"))
    assert Tokenizer.from_gguf(reader).encode(" the") == [_id("Ġthe")]


@pytest.mark.parametrize(("pre", "expected"), [("qwen2", ["1", "2"]), ("smollm", ["12"])])
def test_split_regex_follows_the_pre_tokenizer_name(
    tmp_path: Path, pre: str, expected: list[str]
) -> None:
    # Qwen2's regex isolates every digit; the GPT-2 split (used for "smollm") keeps digit runs.
    tokenizer = Tokenizer.from_gguf(_write_gguf(tmp_path / "t.gguf", pre=pre))
    assert tokenizer.encode("12") == [_id(token) for token in expected]


def test_control_and_user_defined_tokens_match_whole(tiny: Tokenizer) -> None:
    ids = tiny.encode("<|im_start|>x<think><|im_end|>")
    assert ids == [1, _id("x"), 3, 2]
    assert tiny.decode(ids) == "x<think>"  # control tokens are special, <think> is not
    assert tiny.decode(ids, skip_special_tokens=False) == "<|im_start|>x<think><|im_end|>"


def test_only_byte_level_gguf_tokenizers_are_supported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'llama' is not supported"):
        Tokenizer.from_gguf(_write_gguf(tmp_path / "spm.gguf", model="llama"))


def test_incremental_decoder_holds_back_partial_characters(tiny: Tokenizer) -> None:
    ids = tiny.encode("a你好")  # one token per byte: each character spans three tokens
    assert len(ids) == 7
    decoder = IncrementalDecoder(tiny)
    assert [decoder.push(token) for token in ids] == ["a", "", "", "你", "", "", "好"]
    assert decoder.flush() == ""


def test_incremental_decoder_flush_releases_what_is_held(tiny: Tokenizer) -> None:
    decoder = IncrementalDecoder(tiny)
    assert [decoder.push(token) for token in tiny.encode("你")[:2]] == ["", ""]
    assert decoder.flush() == "\ufffd"


def test_render_chat_uses_a_transformers_like_environment(tiny: Tokenizer) -> None:
    messages = [{"role": "user", "content": "hi"}]
    # trim_blocks/lstrip_blocks drop the newline after tags and the indent before them.
    expected = "<|endoftext|><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tiny.render_chat(messages) == expected
    assert tiny.render_chat(messages, add_generation_prompt=False).endswith("hi<|im_end|>\n")
    assert tiny.encode_chat(messages)[:3] == [0, 1, _id("u")]  # no second BOS
    with pytest.raises(jinja2.TemplateError, match="no tools here"):
        tiny.render_chat([{"role": "tool", "content": "{}"}])


@pytest.mark.parametrize(
    "template",
    ["{{ messages.__class__.__mro__ }}", "{% set _ = messages.append(1) %}"],
    ids=["dunder", "mutation"],
)
def test_chat_templates_run_sandboxed(template: str) -> None:
    tokenizer = _template_only(template)
    with pytest.raises(jinja2.exceptions.SecurityError):
        tokenizer.render_chat([{"role": "user", "content": "x"}])


def test_tojson_writes_plain_unicode_json() -> None:
    tokenizer = _template_only("{{ messages | tojson }}")
    assert tokenizer.render_chat([{"role": "user", "content": "<é>"}]) == (
        '[{"role": "user", "content": "<é>"}]'
    )


def test_from_dir_reads_tokenizer_json_and_config(tmp_path: Path, tiny: Tokenizer) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    tiny.backend.post_processor = None  # the folder's own flags must decide about the BOS
    tiny.backend.save(str(folder / "tokenizer.json"))
    config = {
        "bos_token": {"content": "<|endoftext|>", "special": True},
        "eos_token": "<|im_end|>",
        "add_bos_token": True,
        "chat_template": [{"name": "default", "template": TEMPLATE}, {"name": "x", "template": ""}],
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 1]}))

    tokenizer = Tokenizer.from_dir(folder)

    assert (tokenizer.bos_id, tokenizer.eos_id) == (0, 2)
    assert tokenizer.encode("the", add_special_tokens=True) == [0, _id("t"), _id("he")]
    assert tokenizer.stop_ids == (2, 1, 0)
    assert tokenizer.render_chat([{"role": "user", "content": "hi"}]).startswith("<|endoftext|>")
    (folder / "chat_template.jinja").write_text("{{ eos_token }}")
    assert Tokenizer.from_dir(folder).render_chat([]) == "<|im_end|>"


def _template_only(template: str) -> Tokenizer:
    return Tokenizer(tokenizers.Tokenizer(BPE()), chat_template=template)
