"""Streaming detokenization: generated text released in whole characters, cut before stop strings.

Two things hold text back. A byte-level token can end inside a UTF-8 character, so text waits
until the character completes (`IncrementalDecoder`). And the end of the text may be the start
of a stop string, which only later tokens confirm or rule out, so that tail waits too. Because
the held tail is always the longest end of the text that begins a stop string, a stop string can
never start inside text already released: cutting at a match removes it entirely.
"""

from __future__ import annotations

from collections.abc import Sequence

from twincore.model_core.tokenizer import IncrementalDecoder, Tokenizer


class TextStream:
    """The text of one generated sequence, released piece by piece as its tokens arrive.

    Stop strings match the decoded text, so with `skip_special_tokens` (the default) a special
    token such as <|im_end|> never matches one; stop on its id instead.
    """

    def __init__(
        self, tokenizer: Tokenizer, stop: Sequence[str] = (), *, skip_special_tokens: bool = True
    ) -> None:
        if not all(stop):
            raise ValueError("stop strings must be non-empty")
        self._decoder = IncrementalDecoder(tokenizer, skip_special_tokens=skip_special_tokens)
        self._stop = tuple(stop)
        self._held = ""  # decoded, complete text not released yet
        self._released: list[str] = []
        self._matched: str | None = None
        self._ended = False

    @property
    def text(self) -> str:
        """Everything released so far."""
        return "".join(self._released)

    @property
    def stop_string(self) -> str | None:
        """The stop string that ended the text, or None."""
        return self._matched

    @property
    def ended(self) -> bool:
        """Whether a stop string completed or `finish` ran; no more tokens are taken then."""
        return self._ended

    def push(self, token_id: int) -> tuple[str, bool]:
        """Add one token; return the text now safe to emit and whether a stop string completed.

        After a stop the text ends right before the stop string, and the stream takes no more
        tokens.
        """
        if self._ended:
            raise RuntimeError("the text stream has ended (stop string or finish)")
        self._held += self._decoder.push(token_id)
        stopped = self._cut_at_stop()
        keep = 0 if stopped else self._stop_prefix_length()
        return self._release(len(self._held) - keep), stopped

    def finish(self) -> str:
        """End the text without a stop string (length limit, stop token): release what is held.

        Bytes of an incomplete character come out as U+FFFD, as a full decode would give them.
        Returns "" once the stream has ended.
        """
        if self._ended:
            return ""
        self._held += self._decoder.flush()
        self._cut_at_stop()  # the flushed characters can still complete a stop string
        self._ended = True
        return self._release(len(self._held))

    def _cut_at_stop(self) -> bool:
        """Drop held text from the earliest complete stop string on; True if one was found."""
        found = [(at, stop) for stop in self._stop if (at := self._held.find(stop)) >= 0]
        if not found:
            return False
        at, self._matched = min(found)
        self._held = self._held[:at]
        self._ended = True
        return True

    def _stop_prefix_length(self) -> int:
        """Length of the longest end of the held text that is a proper prefix of a stop string."""
        longest = 0
        for stop in self._stop:
            for length in range(min(len(stop) - 1, len(self._held)), longest, -1):
                if self._held.endswith(stop[:length]):
                    longest = length
                    break
        return longest

    def _release(self, length: int) -> str:
        piece, self._held = self._held[:length], self._held[length:]
        if piece:
            self._released.append(piece)
        return piece
