"""TextStream on SmolLM2's real tokenizer: whole characters, stop strings across tokens."""

from __future__ import annotations

import pytest

from twincore.model_core.engine.text import TextStream
from twincore.model_core.tokenizer import Tokenizer
from twincore.model_core.weights import resolve_default_model

CHINESE = "天气很好😀😀。我们去公园散步吧。"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    data_dir = tmp_path_factory.mktemp("data")
    return Tokenizer.from_gguf(resolve_default_model("smollm2-135m-instruct", data_dir=data_dir))


def _run(tokenizer: Tokenizer, text: str, stop: tuple[str, ...]) -> tuple[TextStream, list[str]]:
    """Push `text`'s ids until a stop string completes, then finish as the engine would."""
    stream = TextStream(tokenizer, stop)
    pieces: list[str] = []
    for token in tokenizer.encode(text):
        piece, stopped = stream.push(token)
        pieces.append(piece)
        assert "\ufffd" not in piece
        assert stream.text == "".join(pieces)
        if stopped:
            assert stream.ended
            return stream, pieces
    pieces.append(stream.finish())
    return stream, pieces


def test_without_stop_strings_the_pieces_add_up_to_the_full_decode(tokenizer: Tokenizer) -> None:
    ids = tokenizer.encode(CHINESE)
    stream, pieces = _run(tokenizer, CHINESE, ())
    assert stream.text == tokenizer.decode(ids) == CHINESE
    assert "" in pieces  # some tokens end inside a character and release nothing
    assert stream.stop_string is None


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("Answer: 42\n\nUser: next", ("\n\nUser:",), "Answer: 42"),  # five tokens long
        (CHINESE, ("公园",), "天气很好😀😀。我们去"),  # both characters split over byte tokens
        ("表情🎉结束", ("🎉",), "表情"),  # a four-byte emoji over three tokens
        ("Hello world", ("lo wo",), "Hel"),  # starts inside "Hello", ends inside " world"
        ("Hello world", ("wor",), "Hello "),  # the "ld" after it in the same token is dropped
        ("a STOP b STOP! c", ("STOP!",), "a STOP b "),  # a false start is released later
        ("表情🎉结束", ("结束", "🎉"), "表情"),  # the earliest stop string wins
    ],
)
def test_text_ends_right_before_the_stop_string(
    tokenizer: Tokenizer, text: str, stop: tuple[str, ...], expected: str
) -> None:
    stream, pieces = _run(tokenizer, text, stop)
    assert stream.ended
    assert stream.stop_string is not None
    assert text.startswith(expected + stream.stop_string)
    assert "".join(pieces) == stream.text == expected
    assert stream.finish() == ""
    with pytest.raises(RuntimeError, match="ended"):
        stream.push(tokenizer.encode("x")[0])


def test_a_possible_stop_start_is_held_until_ruled_out(tokenizer: Tokenizer) -> None:
    stream = TextStream(tokenizer, ("STOP!",))
    pieces = [stream.push(token) for token in tokenizer.encode("a STOP b")]
    # "a", " ST" (hold "ST"), "OP" (hold "STOP"), " b" (not "STOP!": release it all).
    assert pieces == [("a", False), (" ", False), ("", False), ("STOP b", False)]


def test_finish_releases_the_held_tail(tokenizer: Tokenizer) -> None:
    stream, pieces = _run(tokenizer, "Hello world", ("world peace",))
    assert pieces == ["Hello", " ", "world"]
    assert stream.text == "Hello world"
    assert stream.stop_string is None
    assert stream.finish() == ""


def test_finish_inside_a_character_gives_what_a_full_decode_gives(tokenizer: Tokenizer) -> None:
    first = tokenizer.encode("天")[0]
    stream = TextStream(tokenizer)
    assert stream.push(first) == ("", False)
    assert stream.finish() == tokenizer.decode([first]) == "\ufffd"


def test_special_tokens_are_skipped(tokenizer: Tokenizer) -> None:
    stream, _ = _run(tokenizer, "Hi<|im_end|>", ("<|im_end|>",))
    assert stream.text == "Hi"
    assert stream.stop_string is None


def test_empty_stop_strings_are_refused(tokenizer: Tokenizer) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        TextStream(tokenizer, ("ok", ""))
