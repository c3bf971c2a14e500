"""Tokenizers and chat templates for Hugging Face folders and GGUF files, behind one small API.

A GGUF carries no tokenizer.json, only llama.cpp metadata (tokens, merges, token types, special
ids, the chat template). `Tokenizer.from_gguf` rebuilds the byte-level BPE from it the way
transformers does when it loads the same file (`AutoTokenizer.from_pretrained(dir,
gguf_file=...)`), so ids match that reference exactly:

- the split regex is chosen by `tokenizer.ggml.pre`; a value transformers has no regex for (such
  as SmolLM2's "smollm") gets the GPT-2 byte-level split;
- CONTROL tokens become special added tokens, USER_DEFINED ones plain added tokens, so both are
  matched whole in text; there is no normalizer;
- a BOS/EOS is added only where `tokenizer.ggml.add_bos_token` / `add_eos_token` say so (false,
  or absent, for both default models).

Chat templates render in the sandbox of `chat_template.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from tokenizers import AddedToken, Regex, decoders, pre_tokenizers, processors
from tokenizers import Tokenizer as Backend
from tokenizers.models import BPE

from twincore.model_core.chat_template import chat_environment

if TYPE_CHECKING:
    from gguf import GGUFReader

# llama.cpp token types (gguf.TokenType).
_CONTROL = 3
_USER_DEFINED = 4

_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# `tokenizer.ggml.pre` -> split regex, for the families transformers maps (same table there).
_PRE_SPLITS = {
    **dict.fromkeys(("qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"), _QWEN2_SPLIT),
    **dict.fromkeys(
        ("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "dbrx", "smaug-bpe"),
        _LLAMA3_SPLIT,
    ),
}
# Our short names -> the GGUF's `tokenizer.ggml.<name>_token_id` keys.
_GGUF_IDS = {"bos": "bos", "eos": "eos", "unk": "unknown", "pad": "padding"}
# Tokens that end a turn in the chat formats we know; the ones a vocabulary has become stop ids.
_END_OF_TURN = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<end_of_turn>")


class Tokenizer:
    """Encode, decode and chat-format text for one model."""

    def __init__(
        self,
        backend: Backend,
        *,
        bos_token: str | None = None,
        eos_token: str | None = None,
        unk_token: str | None = None,
        pad_token: str | None = None,
        chat_template: str | None = None,
        extra_stop_ids: Sequence[int] = (),
    ) -> None:
        self.backend = backend
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.unk_token = unk_token
        self.pad_token = pad_token
        self.chat_template = chat_template
        # What the template sees, as transformers' special_tokens_map: only tokens that exist.
        named = {"bos_token": bos_token, "eos_token": eos_token}
        named |= {"unk_token": unk_token, "pad_token": pad_token}
        self._template_tokens = {key: value for key, value in named.items() if value is not None}
        self._extra_stop_ids = tuple(extra_stop_ids)

    @classmethod
    def from_dir(cls, path: Path) -> Tokenizer:
        """A Hugging Face tokenizer folder: tokenizer.json, tokenizer_config.json and friends."""
        backend = Backend.from_file(str(path / "tokenizer.json"))
        config = _read_json(path / "tokenizer_config.json")
        named = {key: _content(config.get(f"{key}_token")) for key in ("bos", "eos", "unk", "pad")}
        _add_missing_specials(backend, [token for token in named.values() if token])
        if "add_bos_token" in config or "add_eos_token" in config:
            # transformers rebuilds the post-processor from explicit flags; so do we.
            _set_post_processor(
                backend,
                bos=named["bos"] if config.get("add_bos_token") else None,
                eos=named["eos"] if config.get("add_eos_token") else None,
            )
        generation_eos = _read_json(path / "generation_config.json").get("eos_token_id", [])
        return cls(
            backend,
            bos_token=named["bos"],
            eos_token=named["eos"],
            unk_token=named["unk"],
            pad_token=named["pad"],
            chat_template=_chat_template_of(path, config),
            extra_stop_ids=[generation_eos] if isinstance(generation_eos, int) else generation_eos,
        )

    @classmethod
    def from_gguf(cls, source: Path | GGUFReader) -> Tokenizer:
        """The byte-level BPE tokenizer described by a GGUF file's metadata.

        Pass an open `GGUFReader` to share it with the weight loader: opening a GGUF parses all
        of its metadata, several seconds for a 150k-token vocabulary.
        """
        meta = _read_gguf_tokenizer(source)
        if meta.get("tokenizer.ggml.model") != "gpt2":
            raise ValueError(
                f"{source}: tokenizer model {meta.get('tokenizer.ggml.model')!r} is not supported; "
                "only byte-level BPE ('gpt2') GGUFs are, use a tokenizer.json folder instead"
            )
        tokens: list[str] = meta["tokenizer.ggml.tokens"]
        types: list[int] = meta.get("tokenizer.ggml.token_type") or [1] * len(tokens)
        backend = _byte_level_bpe(tokens, meta.get("tokenizer.ggml.merges") or [])
        backend.pre_tokenizer = _byte_level_pre_tokenizer(meta.get("tokenizer.ggml.pre"))
        _add_gguf_added_tokens(backend, tokens, types)
        ids = {key: meta.get(f"tokenizer.ggml.{name}_token_id") for key, name in _GGUF_IDS.items()}
        named = {key: tokens[i] if i is not None else None for key, i in ids.items()}
        _add_missing_specials(backend, [token for token in named.values() if token])
        # transformers' GGUF path always passes the flags, which for gpt2 default to False.
        add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", False))
        add_eos = bool(meta.get("tokenizer.ggml.add_eos_token", False))
        if add_bos or add_eos:
            _set_post_processor(
                backend,
                bos=named["bos"] if add_bos else None,
                eos=named["eos"] if add_eos else None,
            )
        return cls(
            backend,
            bos_token=named["bos"],
            eos_token=named["eos"],
            unk_token=named["unk"],
            pad_token=named["pad"],
            chat_template=meta.get("tokenizer.chat_template"),
        )

    def save(self, directory: Path) -> None:
        """Write this tokenizer as a folder that `from_dir` rebuilds exactly.

        The post-processor travels inside tokenizer.json, so the config leaves out
        add_bos_token/add_eos_token (which would make `from_dir` rebuild it); the extra stop ids
        go to generation_config.json. Write into a fresh folder: a chat_template.jinja already
        there would win over the template saved here.
        """
        directory.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(directory / "tokenizer.json"))
        named = {"bos_token": self.bos_token, "eos_token": self.eos_token}
        named |= {"unk_token": self.unk_token, "pad_token": self.pad_token}
        config: dict[str, Any] = {key: value for key, value in named.items() if value is not None}
        if self.chat_template is not None:
            config["chat_template"] = self.chat_template
        _write_json(directory / "tokenizer_config.json", config)
        _write_json(
            directory / "generation_config.json", {"eos_token_id": list(self._extra_stop_ids)}
        )

    @property
    def vocab_size(self) -> int:
        """Ids the tokenizer can produce, added tokens included."""
        return self.backend.get_vocab_size(with_added_tokens=True)

    @property
    def bos_id(self) -> int | None:
        """Beginning-of-sequence id, if the model has one."""
        return self.backend.token_to_id(self.bos_token) if self.bos_token else None

    @property
    def eos_id(self) -> int | None:
        """End-of-sequence id, if the model has one."""
        return self.backend.token_to_id(self.eos_token) if self.eos_token else None

    @cached_property
    def stop_ids(self) -> tuple[int, ...]:
        """Ids that end generation: EOS, then end-of-turn tokens present in the vocabulary."""
        found = [self.eos_id, *self._extra_stop_ids]
        found += [self.backend.token_to_id(token) for token in _END_OF_TURN]
        return tuple(dict.fromkeys(token for token in found if token is not None))

    def difference(self, other: Tokenizer) -> str | None:
        """Why `other` does not tokenize exactly as this one does, or None when it does: the same
        vocabulary (tokens and ids, added tokens included) and the same BPE merges in order."""
        mine, theirs = self.backend.get_vocab(True), other.backend.get_vocab(True)
        if mine != theirs:
            differing = sorted(set(mine.items()) ^ set(theirs.items()))[:3]
            return f"vocabularies differ: {len(mine)} vs {len(theirs)} tokens, e.g. {differing}"
        merges = [json.loads(t.backend.to_str())["model"].get("merges") for t in (self, other)]
        if merges[0] != merges[1]:
            return "the BPE merges differ"
        return None

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        """Token ids of `text`; special tokens written in the text are matched whole."""
        return list(self.backend.encode(text, add_special_tokens=add_special_tokens).ids)

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        """Text of `ids` (incomplete UTF-8 at the end comes out as U+FFFD)."""
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def render_chat(
        self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True
    ) -> str:
        """The prompt text for `messages`, rendered with the model's chat template."""
        if self.chat_template is None:
            raise ValueError("this tokenizer has no chat template")
        return self._compiled_template.render(
            messages=[dict(message) for message in messages],
            tools=None,
            documents=None,
            add_generation_prompt=add_generation_prompt,
            **self._template_tokens,
        )

    def encode_chat(
        self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True
    ) -> list[int]:
        """Token ids of the rendered chat (the template writes its own special tokens)."""
        prompt = self.render_chat(messages, add_generation_prompt=add_generation_prompt)
        return self.encode(prompt, add_special_tokens=False)

    @cached_property
    def _compiled_template(self) -> jinja2.Template:
        assert self.chat_template is not None
        return chat_environment().from_string(self.chat_template)


class IncrementalDecoder:
    """Text of a growing id sequence, released only as complete characters.

    A byte-level token can end inside a UTF-8 character (one Chinese character often spans two
    tokens); decoding it alone gives U+FFFD. We keep a short window of ids and release the text
    a new id adds only once it no longer ends in U+FFFD. The window starts where the released
    text ended, so decoders that treat the first token specially stay consistent.
    """

    def __init__(self, tokenizer: Tokenizer, *, skip_special_tokens: bool = True) -> None:
        self._tokenizer = tokenizer
        self._skip_special_tokens = skip_special_tokens
        self._ids: list[int] = []
        self._prefix = 0  # window start: text before it has been released
        self._read = 0  # ids up to here are released

    def push(self, token_id: int) -> str:
        """Add one id; return the text that became complete (often "", never a partial char)."""
        self._ids.append(token_id)
        released, text = self._window()
        if len(text) <= len(released) or text.endswith("\ufffd"):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return text[len(released) :]

    def flush(self) -> str:
        """Release whatever is held back (incomplete bytes come out as U+FFFD)."""
        released, text = self._window()
        self._prefix = self._read = len(self._ids)
        return text[len(released) :]

    def _window(self) -> tuple[str, str]:
        decode = self._tokenizer.decode
        skip = self._skip_special_tokens
        released = decode(self._ids[self._prefix : self._read], skip_special_tokens=skip)
        return released, decode(self._ids[self._prefix :], skip_special_tokens=skip)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table, the alphabet byte-level vocabularies use."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {byte: chr(byte) for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


def _byte_level_bpe(tokens: list[str], merges: list[str]) -> Backend:
    spelling = bytes_to_unicode()
    alphabet = set(spelling.values())
    # A token outside the byte alphabet was stored as raw text; spell its UTF-8 bytes instead.
    vocab = {
        token if set(token) <= alphabet else "".join(spelling[b] for b in token.encode()): index
        for index, token in enumerate(tokens)
    }
    pairs = [_merge_pair(merge) for merge in merges]
    backend = Backend(BPE(vocab=vocab, merges=pairs, fuse_unk=False))
    backend.decoder = decoders.ByteLevel()
    return backend


def _byte_level_pre_tokenizer(pre: str | None) -> pre_tokenizers.PreTokenizer:
    split = _PRE_SPLITS.get(pre or "")
    if split is None:
        # GPT-2's own split (contractions, letters, digit runs, punctuation, spaces).
        return pre_tokenizers.ByteLevel(add_prefix_space=False)
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _merge_pair(merge: str) -> tuple[str, str]:
    left, right = merge.split(" ")
    return left, right


def _add_gguf_added_tokens(backend: Backend, tokens: list[str], types: list[int]) -> None:
    # A CONTROL token outside the byte alphabet is a llama.cpp mislabel: transformers skips it
    # (adding it would grow the vocabulary past the embedding), and so do we.
    alphabet = set(bytes_to_unicode().values())
    control = [
        AddedToken(token, normalized=False, special=True)
        for token, kind in zip(tokens, types, strict=False)
        if kind == _CONTROL and set(token) <= alphabet
    ]
    if control:
        backend.add_special_tokens(control)
    vocab = backend.get_vocab(with_added_tokens=True)
    user_defined = [
        AddedToken(token, normalized=False, special=False)
        for token, kind in zip(tokens, types, strict=False)
        if kind == _USER_DEFINED and token in vocab
    ]
    if user_defined:
        backend.add_tokens(user_defined)


def _add_missing_specials(backend: Backend, named: list[str]) -> None:
    # Named special tokens must match whole in text even when nothing marked them as added.
    added = {token.content for token in backend.get_added_tokens_decoder().values()}
    missing = [AddedToken(token, special=True) for token in named if token not in added]
    if missing:
        backend.add_special_tokens(missing)


def _set_post_processor(backend: Backend, *, bos: str | None, eos: str | None) -> None:
    single = " ".join([*([f"{bos}:0"] if bos else []), "$A:0", *([f"{eos}:0"] if eos else [])])
    pair = " ".join(
        [single, *([f"{bos}:1"] if bos else []), "$B:1", *([f"{eos}:1"] if eos else [])]
    )
    specials = [(token, backend.token_to_id(token)) for token in (bos, eos) if token]
    backend.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(t, i) for t, i in specials if i is not None]
    )


def _read_gguf_tokenizer(source: Path | GGUFReader) -> dict[str, Any]:
    """The `tokenizer.*` metadata of a GGUF file as plain Python values."""
    from gguf import GGUFReader  # numpy and friends, only when a GGUF is read

    reader = source if isinstance(source, GGUFReader) else GGUFReader(source)
    return {
        key: field.contents()
        for key, field in reader.fields.items()
        if key.startswith("tokenizer.")
    }


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _content(token: object) -> str | None:
    """A special token from tokenizer_config.json: a string or a serialized AddedToken."""
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) else None


def _chat_template_of(path: Path, config: Mapping[str, Any]) -> str | None:
    # Newer saves keep the template in its own file; older ones inline it, maybe as named variants.
    template_file = path / "chat_template.jinja"
    if template_file.is_file():
        return template_file.read_text(encoding="utf-8")
    template = config.get("chat_template")
    if isinstance(template, list):
        named = {entry.get("name"): entry.get("template") for entry in template}
        template = named.get("default")
    return template if isinstance(template, str) else None
