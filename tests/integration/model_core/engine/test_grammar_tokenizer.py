"""llguidance sees Qwen's vocabulary as the model does: `<tool_call>` is an added token marked as
text (the one Qwen opens a call with), so a grammar that wants that text allows that token,
while `<|im_end|>` stays special and never matches text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.grammar import GrammarCompiler
from twincore.model_core.tokenizer import Tokenizer

SWIFT = "qwen2.5-coder-0.5b-instruct"


def test_text_added_tokens_match_their_text(default_gguf: Callable[[str], Path]) -> None:
    tokenizer = Tokenizer.from_gguf(default_gguf(SWIFT))
    open_call, end_turn = tokenizer.encode("<tool_call>"), tokenizer.encode("<|im_end|>")
    assert len(open_call) == 1 and len(end_turn) == 1
    compiler = GrammarCompiler(tokenizer, 151936)
    ll = compiler.llguidance_tokenizer()
    assert not ll.is_special_token(open_call[0]) and ll.is_special_token(end_turn[0])
    grammar = compiler.compile(
        Constraint("lark", 'start: "<tool_call>\\n" /[a-z]+/ "\\n</tool_call>"')
    )
    matcher = grammar.matcher()
    assert matcher.consume(open_call[0]), matcher.error
    for token in tokenizer.encode("\nweather\n</tool_call>"):
        assert matcher.consume(token), matcher.error
    assert matcher.accepting
