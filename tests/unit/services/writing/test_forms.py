"""Form grammars through llguidance on a byte-level tokenizer: every exemplar is in its style's
language, texts that break a guaranteed constraint are not, random walks through each grammar
meet what it guarantees; CMUdict syllables and rhymes with the spelling fallback."""

# ruff: noqa: RUF001 (Chinese text uses full-width punctuation)
from __future__ import annotations

import random
from collections.abc import Sequence

import llguidance
import pytest

from twincore.services.writing.checkers import check_text, chinese, english
from twincore.services.writing.checkers.report import COPY_THRESHOLD, STYLE_CHANGE
from twincore.services.writing.forms import Form, build_form, form_constraint, rhyme_chars
from twincore.services.writing.registry import get_style, load_styles

EOS = 256


class _Bytes:
    """A tokenizer whose tokens are the 256 bytes (and an end token): a text is in a grammar's
    language exactly when its bytes are, whatever a real tokenizer would cut them into."""

    eos_token_id = EOS
    bos_token_id = None
    tokens: Sequence[bytes] = [bytes([i]) for i in range(256)] + [b"<eos>"]
    special_token_ids: Sequence[int] = [EOS]

    def __call__(self, text: bytes | str) -> list[int]:
        return list(text if isinstance(text, bytes) else text.encode())


@pytest.fixture(scope="module")
def tokenizer() -> llguidance.LLTokenizer:
    return llguidance.LLTokenizer(llguidance.TokenizerWrapper(_Bytes()))


def _matcher(tokenizer: llguidance.LLTokenizer, form: Form) -> llguidance.LLMatcher:
    grammar = llguidance.LLMatcher.grammar_from_lark(form.grammar)
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    return matcher


def _accepts(tokenizer: llguidance.LLTokenizer, form: Form, text: str) -> bool:
    matcher = _matcher(tokenizer, form)
    return matcher.consume_tokens(list(text.encode())) and matcher.is_accepting()


def _form(style_id: str) -> Form:
    form = build_form(get_style(style_id))
    assert form is not None
    return form


WUJUE = "山高云自白，\n水远月同明。\n独坐听松语，\n清风送晚晴。"
HAIKU = "an old silent pond\na frog jumps into the pond\nsplash, silence again"


def test_every_exemplar_is_in_its_styles_grammar(tokenizer: llguidance.LLTokenizer) -> None:
    formless = []
    for style in load_styles().values():
        form = build_form(style)
        if form is None:
            formless.append(style.id)
            continue
        assert form_constraint(style) == form.constraint()
        assert form.constraint().kind == "lark" and not form.constraint().problems()
        assert (
            llguidance.LLMatcher.validate_grammar(
                llguidance.LLMatcher.grammar_from_lark(form.grammar)
            )
            == ""
        )
        for exemplar in style.exemplars:
            assert _accepts(tokenizer, form, exemplar), (style.id, exemplar)
    assert formless == ["screenplay"]  # it states no line or length rule a grammar could hold


def test_what_each_grammar_guarantees() -> None:
    assert _form("wujue").guaranteed == (
        "four lines",
        "five characters per line",
        "lines 2 and 4 rhyme",
    )
    assert _form("qijue").guaranteed == (
        "four lines",
        "seven characters per line",
        "lines 2 and 4 rhyme",
    )
    assert _form("haiku").guaranteed == ("three lines",)  # 5-7-5 syllables: not a grammar's
    assert _form("sonnet").guaranteed == ("fourteen lines",)
    assert _form("abstract").guaranteed == ("one paragraph", "80-260 words")
    assert _form("fairy_tale").guaranteed == ("traditional opening", "80-400 words")
    assert _form("zh_news_brief").guaranteed == ("电头", "80-300字")


@pytest.mark.parametrize(
    ("style_id", "text"),
    [
        ("wujue", WUJUE.replace("山高云自白", "山高云自白白")),  # six characters
        ("wujue", WUJUE.replace("水远月同明", "水远同明")),  # four
        ("wujue", WUJUE.rsplit("\n", 1)[0]),  # three lines
        ("wujue", WUJUE + "\n春来花自开。"),  # five lines
        ("wujue", WUJUE.replace("\n", "\n\n", 1)),  # an empty line inside the stanza
        ("wujue", WUJUE.replace("清风送晚晴", "清风送晚秋")),  # 明 (庚) and 秋 (尤) do not rhyme
        ("wujue", WUJUE.replace("山高云自白，", "山高云自白")),  # no line punctuation
        ("qijue", WUJUE),  # five characters where seven are needed
        ("haiku", HAIKU + "\nand then the rain"),
        ("haiku", HAIKU.replace("an old silent pond", "an old and quiet green pond")),  # 6 words
        ("haiku", HAIKU.replace("\n", "\n\n", 1)),
        ("limerick", "one\ntwo\nthree\nfour"),
    ],
)
def test_texts_that_break_the_form_are_refused(
    tokenizer: llguidance.LLTokenizer, style_id: str, text: str
) -> None:
    assert not _accepts(tokenizer, _form(style_id), text)


def test_the_sonnet_may_break_between_stanzas_only(tokenizer: llguidance.LLTokenizer) -> None:
    lines = get_style("sonnet").exemplars[0].splitlines()
    form = _form("sonnet")
    stanzas = "\n\n".join("\n".join(lines[at : at + 4]) for at in (0, 4, 8, 12))
    assert _accepts(tokenizer, form, stanzas)
    inside = "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:])
    assert not _accepts(tokenizer, form, inside)
    assert not _accepts(tokenizer, form, "\n".join(lines[:13]))


def test_prose_lengths_paragraphs_and_openings(tokenizer: llguidance.LLTokenizer) -> None:
    abstract = get_style("abstract").exemplars[0]
    assert _accepts(tokenizer, _form("abstract"), abstract)
    half = len(abstract) // 2
    cut = abstract.index(" ", half)
    assert not _accepts(tokenizer, _form("abstract"), abstract[:cut] + "\n" + abstract[cut + 1 :])
    noir = _form("noir")
    assert _accepts(tokenizer, noir, " ".join(["rain"] * 80) + ".")
    assert not _accepts(tokenizer, noir, " ".join(["rain"] * 79) + ".")
    assert not _accepts(tokenizer, noir, " ".join(["rain"] * 301) + ".")
    letter = get_style("business_letter").exemplars[0]
    assert not _accepts(tokenizer, _form("business_letter"), letter.replace("Dear", "Hello", 1))
    brief = get_style("zh_news_brief").exemplars[0]
    assert _accepts(tokenizer, _form("zh_news_brief"), brief)
    short = "本报讯 3月5日，据介绍，" + "好" * 60 + "。"
    assert not _accepts(tokenizer, _form("zh_news_brief"), short)  # 68 characters, needs 80
    assert _accepts(tokenizer, _form("zh_news_brief"), short.replace("好" * 60, "好" * 72))  # 80
    # 讯 only on the second line: no 电头 in the first.
    assert not _accepts(tokenizer, _form("zh_news_brief"), "本报\n讯" + short[3:] + "好" * 20)


def _walk(
    tokenizer: llguidance.LLTokenizer, form: Form, prefix: str, rng: random.Random, stop: float
) -> str:
    """A random text of the grammar's language that starts with `prefix`: then uniform over the
    allowed bytes, ending with probability `stop` at each step where the grammar accepts."""
    matcher = _matcher(tokenizer, form)
    out = bytearray(prefix.encode())
    assert matcher.consume_tokens(list(out))
    for _ in range(20_000):
        mask = matcher.compute_bitmask()  # one bit per token, little-endian 32-bit words
        allowed = [b for b in range(256) if mask[b // 8] >> (b % 8) & 1]
        if matcher.is_accepting() and (not allowed or rng.random() < stop):
            return out.decode()
        byte = rng.choice(allowed)
        assert matcher.consume_token(byte)
        out.append(byte)
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("style_id", [s for s in load_styles() if s != "screenplay"])
def test_random_texts_of_a_grammar_meet_what_it_guarantees(
    tokenizer: llguidance.LLTokenizer, style_id: str
) -> None:
    style, form = get_style(style_id), _form(style_id)
    rng = random.Random(style_id)
    # A random walk does not spell "Once upon a time" by chance: each starts on an exemplar's
    # first line (the refused openings are tested above) and goes anywhere from there.
    for exemplar in style.exemplars:
        text = _walk(tokenizer, form, exemplar.split("\n", 1)[0], rng, stop=0.02)
        verdicts = {r.description: r for r in check_text(style, text).results}
        for description in form.guaranteed:
            assert verdicts[description].passed, (style_id, text, verdicts[description].reasons)


def test_the_rhyme_characters_rhyme_as_the_checker_hears_them() -> None:
    groups = rhyme_chars()
    assert len(groups) == 14
    for group, chars in groups.items():
        assert len(chars) == len(set(chars)) == 48
        assert {chinese.rhyme_group(ch) for ch in chars} == {group}


def test_cmudict_syllables_with_the_spelling_fallback() -> None:
    known = {"fire": 2, "hello": 2, "every": 3, "syllable": 3, "cake": 1, "table": 2}
    assert {w: english.word_syllables(w) for w in known} == known
    assert english.phones("hello") == ("HH", "AH0", "L", "OW1")
    assert english.phones("aalborg") == ("AO1", "L", "B", "AO0", "R", "G")  # comment dropped
    # Not in CMUdict: vowel groups, minus a silent final -e.
    assert english.phones("zorblax") is None and english.word_syllables("zorblax") == 2
    assert english.phones("glimbrake") is None and english.word_syllables("glimbrake") == 2
    assert english.word_syllables("hmm") == 1  # CMUdict gives it no vowel; a word is one beat
    assert english.line_syllables("An old silent pond") == 5
    assert english.rhymes("day", "stay") and english.rhymes("light", "sight")
    assert not english.rhymes("day", "night") and not english.rhymes("day", "day")
    assert english.rhyme_key("zorblax") == "~ax"


def test_a_rewrite_that_copies_its_source_fails_style_change() -> None:
    haiku = get_style("haiku")
    prose = "The mayor opened the new bridge over the river on Monday morning."
    copied = check_text(haiku, prose, similarity=0.97)
    change = next(r for r in copied.results if r.kind == STYLE_CHANGE)
    assert (
        not change.passed
        and "0.97" in change.reasons[0]
        and str(COPY_THRESHOLD) in change.reasons[0]
    )
    assert copied.score < check_text(haiku, prose, similarity=0.5).score
    assert next(
        r for r in check_text(haiku, prose, similarity=0.5).results if r.kind == STYLE_CHANGE
    ).passed
    # A text that meets the style may keep the source's words: that is no copy.
    assert check_text(haiku, HAIKU, similarity=0.99).passed
    # Without a similarity (a composed text) there is no such constraint.
    assert all(r.kind != STYLE_CHANGE for r in check_text(haiku, prose).results)
