"""Repetition guard: spots a generation that loops and bans the token that would repeat it again.

Small models fall into loops: the same haiku line ten times, "WHO:" and the same nine account ids
until the token limit. Two rules, both checked before every sampled token:
- a loop: the output ends with `max_loop_repeats` back-to-back copies of one span of
  `min_loop_tokens`..`max_loop_tokens` tokens. The token that would start one more copy is banned.
  A span whose own period is shorter than `min_loop_tokens` ("\\n\\n\\n", runs of spaces, "0, 0, 0")
  is repetition of a short token, which text legitimately has, and is not a loop.
- a line: the output already holds `max_line_repeats` copies of a line (compared without case,
  punctuation or extra spaces; lines shorter than `min_line_chars` never count, so "}" or "else:"
  may recur): once the line being written has copied the first half of one of those lines token
  for token, the token that would go on copying it is banned, so a third copy never gets past
  half (not even when the token limit cuts it). A copy that differs in case or punctuation
  escapes that; when it reads the same, every token that would end the line (any token holding
  a newline, and the stop tokens) is banned, so it cannot complete.

Each time a rule starts banning counts as one strike; past `patience` strikes the engine ends the
generation with finish_reason "repetition". patience 0 ends it at the first loop instead of
banning.

Budget per token: `push` compares the new token with the `max_loop_tokens` before it (one integer
comparison each, 64 by default) and decodes a line once, when it ends. Only while some line is at
its limit (rare) does the check decode the current line, every token, to compare it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from twincore.model_core.tokenizer import Tokenizer

_WORDS = re.compile(r"\w+")
MAX_LOOP_TOKENS = 512


@dataclass(frozen=True)
class RepetitionGuard:
    """How much repetition a generation may hold before the engine steps in."""

    max_line_repeats: int = 2
    """Copies of one line the output may hold."""
    min_line_chars: int = 8
    """Lines shorter than this, once normalised, are never counted."""
    max_loop_repeats: int = 2
    """Back-to-back copies of one token span the output may hold."""
    min_loop_tokens: int = 4
    """Shortest span that counts as a loop; shorter periods are repeated short tokens."""
    max_loop_tokens: int = 64
    """Longest span checked (the check costs one comparison per token of this length)."""
    patience: int = 4
    """Loops broken by a ban before the generation ends with finish_reason "repetition";
    0 ends it at the first loop."""

    def problems(self) -> list[str]:
        """What is out of range, one message per field; empty when valid."""
        lower_bounds = {
            "max_line_repeats": 1,
            "min_line_chars": 1,
            "max_loop_repeats": 2,
            "patience": 0,
        }
        problems = [
            f"{name} must be >= {least}, got {getattr(self, name)}"
            for name, least in lower_bounds.items()
            if getattr(self, name) < least
        ]
        if not 1 <= self.min_loop_tokens <= self.max_loop_tokens <= MAX_LOOP_TOKENS:
            problems.append(
                f"need 1 <= min_loop_tokens <= max_loop_tokens <= {MAX_LOOP_TOKENS}, got "
                f"{self.min_loop_tokens} and {self.max_loop_tokens}"
            )
        return [f"repetition_guard: {problem}" for problem in problems]


@dataclass(frozen=True)
class LineReader:
    """What the line rule needs from a tokenizer: text of ids, and which ids hold a newline."""

    decode: Callable[[Sequence[int]], str]
    newline_ids: frozenset[int]

    @classmethod
    def for_tokenizer(cls, tokenizer: Tokenizer) -> LineReader:
        """Decodes every id once: under a second for a 150k vocabulary, once per engine."""
        texts = tokenizer.backend.decode_batch([[i] for i in range(tokenizer.vocab_size)])
        newlines = frozenset(i for i, text in enumerate(texts) if "\n" in text)
        return cls(tokenizer.decode, newlines)


def normalise_line(line: str) -> str:
    """A line as the guard compares it: lower-case words joined by single spaces."""
    return " ".join(_WORDS.findall(line.lower()))


class RepetitionState:
    """One candidate's loop and line bookkeeping; `push` each output token, read `bans`."""

    def __init__(
        self, guard: RepetitionGuard, lines: LineReader | None, stop_ids: Iterable[int] = ()
    ) -> None:
        self.guard, self.lines = guard, lines
        self._line_ends = (lines.newline_ids | frozenset(stop_ids)) if lines else frozenset()
        self._tail: list[int] = []  # the last tokens, at most 2 * max_loop_tokens
        self._runs = [0] * (guard.max_loop_tokens + 1)
        """_runs[k]: how many of the latest tokens each equal the token k places before them."""
        self._line: list[int] = []
        self._counts: dict[str, int] = {}
        self._full: set[str] = set()
        """Normalised lines the output holds max_line_repeats times."""
        self._copies: dict[str, set[tuple[int, ...]]] = {}
        """The tokens of each counted line's copies, its newline-holding last token left out."""
        self._full_copies: set[tuple[int, ...]] = set()
        self.bans: frozenset[int] = frozenset()
        """Tokens the next position must not take."""
        self.strikes = 0

    @property
    def exhausted(self) -> bool:
        """More loops than the guard's patience: the generation should end."""
        return self.strikes > self.guard.patience

    def copy(self) -> RepetitionState:
        """An independent copy (speculative verification probes drafted tokens on one)."""
        twin = RepetitionState.__new__(RepetitionState)
        twin.__dict__.update(self.__dict__)
        twin._tail, twin._runs, twin._line = list(self._tail), list(self._runs), list(self._line)
        twin._counts, twin._full = dict(self._counts), set(self._full)
        return twin

    def push(self, token: int) -> None:
        """Take the next output token; `bans` and `strikes` then describe the position after it."""
        tail, runs = self._tail, self._runs
        depth = len(tail)
        for k in range(1, len(runs)):
            runs[k] = runs[k] + 1 if k <= depth and tail[-k] == token else 0
        tail.append(token)
        if len(tail) > 2 * self.guard.max_loop_tokens:
            del tail[: -self.guard.max_loop_tokens]
        self._line.append(token)
        if self.lines is not None and token in self.lines.newline_ids:
            self._end_line()
        before, self.bans = self.bans, self._loop_bans() | self._line_bans()
        # A line held at its limit bans the same tokens step after step: one strike for it.
        if self.bans and self.bans != before:
            self.strikes += 1

    def _end_line(self) -> None:
        assert self.lines is not None
        # Every part before the last newline is a finished line; what follows the newline in
        # the same token is whitespace (tokenizers split newlines from words).
        parts = self.lines.decode(self._line).split("\n")[:-1]
        for line in parts:
            key = normalise_line(line)
            if len(key) < self.guard.min_line_chars:
                continue
            self._counts[key] = self._counts.get(key, 0) + 1
            copies = self._copies.setdefault(key, set())
            if sum(1 for part in parts if part.strip()) == 1:  # the tokens hold this line alone
                copies.add(tuple(self._line[:-1]))
            if self._counts[key] >= self.guard.max_line_repeats:
                self._full.add(key)
                self._full_copies |= copies
        self._line = []

    def _loop_bans(self) -> frozenset[int]:
        guard, runs, tail = self.guard, self._runs, self._tail
        copies = guard.max_loop_repeats - 1  # a run of copies * k tokens holds copies + 1 copies
        bans: set[int] = set()
        shortest = max(runs[1 : guard.min_loop_tokens], default=0)
        for k in range(guard.min_loop_tokens, len(runs)):
            need = copies * k
            # A tail that is periodic with a shorter period is repetition of a short token.
            if runs[k] >= need and shortest < need:
                bans.add(tail[-k])
        return frozenset(bans)

    def _line_bans(self) -> frozenset[int]:
        if not self._full or self.lines is None or not self._line:
            return frozenset()
        line, written = self._line, len(self._line)
        bans = {
            copy[written]
            for copy in self._full_copies
            if max(2, len(copy) // 2) <= written < len(copy) and tuple(line) == copy[:written]
        }
        if normalise_line(self.lines.decode(line)) in self._full:
            bans |= self._line_ends
        return frozenset(bans)
