"""Grammar-constrained decoding: compile a `Constraint` once, then mask tokens step by step.

llguidance does the language work: `GrammarCompiler` turns a constraint into an llguidance
matcher for one tokenizer and keeps the compiled ones in an LRU cache keyed by (kind, source),
so a second request with the same schema compiles nothing; each sequence then walks its own
copy (`GrammarMatcher`: consume a token, roll drafts back, ask whether it may stop).
`allowed_mask` gathers the rows' bitmasks into one [B, V] boolean tensor for `sample`.

End of output is the engine's business, not the grammar's: a row's stop ids (the tokenizer's
and the request's) are allowed exactly where the grammar accepts, whatever llguidance's own EOS
says, and a grammar that can take no more tokens ends the request at once (`finished`).

Budget per constrained token: llguidance computes one bitmask of V/32 words (6 KiB for
SmolLM2's 49k vocabulary) on the CPU, usually well under a millisecond for JSON (it walks a
token trie only as far as the lexer allows); the batch's masks travel to the device as one
[B, V/32] int32 copy and unpack into [B, V] booleans there.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import llguidance
import torch
from torch import Tensor

from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.tokenizer import Tokenizer, bytes_to_unicode

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions  # declared only in the type stubs

JSON_OPTIONS: JsonCompileOptions = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
}
"""How generated JSON is spaced: `{"a": 1, "b": [2, 3]}`. Free whitespace lets a small model pad
an object with newlines until its token budget runs out; a schema's own "x-guidance" options
still override these."""
_BITS = torch.arange(32, dtype=torch.int32)


class GrammarError(ValueError):
    """A constraint that does not compile (llguidance's message says where and why)."""


@dataclass(frozen=True, eq=False)
class Grammar:
    """One compiled constraint; `matcher()` starts a fresh walk through it."""

    constraint: Constraint
    template: llguidance.LLMatcher
    vocab_size: int
    """Tokens llguidance knows (the width of its bitmasks: at least the logits')."""

    def matcher(self) -> GrammarMatcher:
        return GrammarMatcher(self.template.deep_copy(), self.vocab_size)


class GrammarCompiler:
    """Compiles constraints against one tokenizer, keeping the last `capacity` ones.

    Thread-safe: requests compile on the callers' threads (so a bad grammar fails `submit`)
    while the engine's worker reads the cache.
    """

    def __init__(self, tokenizer: Tokenizer, vocab_size: int, *, capacity: int = 64) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        """Width of the model's logits (may exceed the tokenizer's vocabulary: padding rows)."""
        self.capacity = capacity
        self.compiled = 0
        self.cache_hits = 0
        self._ll: llguidance.LLTokenizer | None = None  # built on first use (about 0.2 s)
        self._cache: OrderedDict[tuple[str, str], Grammar] = OrderedDict()
        self._lock = threading.Lock()

    def compile(self, constraint: Constraint) -> Grammar:
        """The compiled grammar of `constraint`, from the cache when it was compiled before.

        Raises GrammarError (a ValueError) when the constraint is malformed or does not compile.
        """
        problems = constraint.problems()
        if problems:
            raise GrammarError("; ".join(problems))
        key = (constraint.kind, constraint.source)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return cached
            tokenizer = self.llguidance_tokenizer()
        template = llguidance.LLMatcher(tokenizer, _grammar_text(constraint), log_level=0)
        if template.is_error():
            raise GrammarError(f"invalid {constraint.kind} constraint: {template.get_error()}")
        grammar = Grammar(constraint, template, tokenizer.vocab_size)
        with self._lock:
            self.compiled += 1
            self._cache[key] = grammar
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return grammar

    def llguidance_tokenizer(self) -> llguidance.LLTokenizer:
        """llguidance's view of the tokenizer, built once (about 0.2 s for a 49k vocabulary)."""
        if self._ll is None:
            # EOS is decided by the engine (see the module docstring); the tokenizer's stop ids
            # only tell llguidance which ids are EOS.
            n_vocab = max(self.vocab_size, self.tokenizer.vocab_size)
            wrapped = byte_level_wrapper(self.tokenizer, n_vocab)
            self._ll = llguidance.LLTokenizer(
                self.tokenizer.backend.to_str() if wrapped is None else wrapped,
                n_vocab=n_vocab,
                eos_token=list(self.tokenizer.stop_ids) or None,
            )
        return self._ll


class _ByteLevelVocabulary:
    """What `llguidance.TokenizerWrapper` reads: each id's bytes, the special ids, encoding."""

    def __init__(self, tokenizer: Tokenizer, tokens: list[bytes], special: list[int]) -> None:
        self.eos_token_id = tokenizer.eos_id
        self.bos_token_id = tokenizer.bos_id
        self.tokens = tokens
        self.special_token_ids = special
        self._tokenizer = tokenizer

    def __call__(self, text: str | bytes) -> list[int]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return self._tokenizer.encode(text)


def byte_level_wrapper(tokenizer: Tokenizer, n_vocab: int) -> llguidance.TokenizerWrapper | None:
    """llguidance's view of a byte-level BPE vocabulary with only truly special tokens special.

    Loaded from the tokenizer's JSON, llguidance counts every added token as special, and a
    special token never matches text: Qwen's `<tool_call>` (an added token marked as text, the
    one the model was trained to open a call with) could then never be generated where the
    grammar wants the text "<tool_call>". Here added tokens that are text are their UTF-8 bytes.
    None when the vocabulary is not byte-level (the JSON path then applies).
    """
    data = json.loads(tokenizer.backend.to_str())
    vocab = (data.get("model") or {}).get("vocab")
    if not isinstance(vocab, dict):
        return None
    alphabet = {char: byte for byte, char in bytes_to_unicode().items()}
    tokens = [b""] * n_vocab
    for text, index in vocab.items():
        if index >= n_vocab or any(char not in alphabet for char in text):
            return None
        tokens[index] = bytes(alphabet[char] for char in text)
    special: list[int] = []
    for added in data.get("added_tokens", []):
        if added["id"] < n_vocab:
            tokens[added["id"]] = str(added["content"]).encode()
            if added.get("special"):
                special.append(added["id"])
    return llguidance.TokenizerWrapper(_ByteLevelVocabulary(tokenizer, tokens, special))


def _grammar_text(constraint: Constraint) -> str:
    """llguidance's grammar definition of a constraint."""
    if constraint.kind == "json_schema":
        return llguidance.LLMatcher.grammar_from_json_schema(
            constraint.source, defaults=JSON_OPTIONS
        )
    if constraint.kind == "json_object":
        return llguidance.LLMatcher.grammar_from_json_schema(
            '{"type": "object"}', defaults=JSON_OPTIONS
        )
    if constraint.kind == "regex":
        return llguidance.LLMatcher.grammar_from_regex(constraint.source)
    return llguidance.LLMatcher.grammar_from_lark(constraint.source)


class GrammarMatcher:
    """One sequence's position in a grammar: which tokens may come next, and whether it may end."""

    def __init__(self, matcher: llguidance.LLMatcher, vocab_size: int) -> None:
        self._matcher = matcher
        self.vocab_size = vocab_size

    def copy(self) -> GrammarMatcher:
        """An independent matcher at the same position (a forked candidate's)."""
        return GrammarMatcher(self._matcher.deep_copy(), self.vocab_size)

    def consume(self, token: int) -> bool:
        """Advance past `token`; False (and the matcher is then broken) when it was not allowed."""
        return self._matcher.consume_token(token)

    def rollback(self, count: int) -> None:
        """Undo the last `count` consumed tokens (rejected drafts)."""
        if count and not self._matcher.rollback(count):
            raise RuntimeError(f"grammar rollback of {count} tokens failed: {self.error}")

    @property
    def accepting(self) -> bool:
        """The output so far is a whole sentence of the language: it may end here."""
        return self._matcher.is_accepting()

    @property
    def finished(self) -> bool:
        """No further token can follow (the output is complete, or the matcher broke)."""
        return self._matcher.is_stopped()

    @property
    def error(self) -> str:
        return self._matcher.get_error()

    def fill_bitmask(self, row: Tensor, stop_ids: Collection[int]) -> None:
        """Write the next-token bitmask into `row` ([V/32] int32, CPU): bit t of word t // 32 is
        set where token t may come next; the stop ids are set exactly when the grammar accepts."""
        self._matcher.unsafe_compute_mask_ptr(row.data_ptr(), row.numel() * row.element_size())
        words = row.numpy().view("uint32")  # a view: setting bits writes the tensor
        accepting = self.accepting
        for token in stop_ids:
            word, bit = divmod(token, 32)
            if word < words.shape[0]:
                if accepting:
                    words[word] |= 1 << bit
                else:
                    words[word] &= ~(1 << bit) & 0xFFFFFFFF


def bitmask_words(vocab_size: int) -> int:
    """int32 words of one row's bitmask."""
    return (vocab_size + 31) // 32


def allowed_mask(
    matchers: Sequence[GrammarMatcher | None],
    stop_ids: Sequence[Collection[int]],
    vocab_size: int,
    device: torch.device,
) -> Tensor | None:
    """Which token each row may pick next: [B, V] bool on `device`, V = `vocab_size` (the logits'
    width; rows without a matcher allow every token); None when no row is constrained."""
    if all(matcher is None for matcher in matchers):
        return None
    width = max(bitmask_words(m.vocab_size) for m in matchers if m is not None)
    bitmask = torch.full((len(matchers), width), -1, dtype=torch.int32)
    for row, (matcher, stops) in enumerate(zip(matchers, stop_ids, strict=True)):
        if matcher is not None:
            matcher.fill_bitmask(bitmask[row], stops)
    return unpack_bitmask(bitmask.to(device, non_blocking=True), vocab_size)


def draft_masks(
    matcher: GrammarMatcher,
    drafted: Sequence[int],
    stop_ids: Collection[int],
    vocab_size: int,
    device: torch.device,
) -> Tensor:
    """The masks of the k+1 positions a verify step checks: after the output, then after each of
    the drafted tokens; [k+1, V] bool. Past the first draft the grammar forbids (or a stop id),
    the rows are left unconstrained: verification rejects that draft (or stops there), so those
    positions are never sampled. The matcher ends where it started."""
    bitmask = torch.full(
        (len(drafted) + 1, bitmask_words(matcher.vocab_size)), -1, dtype=torch.int32
    )
    consumed = 0
    matcher.fill_bitmask(bitmask[0], stop_ids)
    for token in drafted:
        if token in stop_ids or not _allows(bitmask[consumed], token):
            break
        if not matcher.consume(token):
            raise RuntimeError(f"the grammar refused a token its mask allowed: {matcher.error}")
        consumed += 1
        matcher.fill_bitmask(bitmask[consumed], stop_ids)
    matcher.rollback(consumed)
    return unpack_bitmask(bitmask.to(device, non_blocking=True), vocab_size)


def _allows(row: Tensor, token: int) -> bool:
    """Whether bit `token` of a bitmask row ([W] int32) is set."""
    word, bit = divmod(token, 32)
    return word < row.shape[0] and bool((int(row[word]) >> bit) & 1)


def unpack_bitmask(bitmask: Tensor, vocab_size: int) -> Tensor:
    """bitmask: [B, W] int32 -> [B, V] bool (bit t of word t // 32 says whether t is allowed)."""
    bits = (bitmask[:, :, None] >> _BITS.to(bitmask.device)) & 1  # [B, W, 32]
    return bits.flatten(1)[:, :vocab_size].bool()
