"""Finding the code in a model's reply: the fenced block in the task's language, else the text."""

from __future__ import annotations

import re
import textwrap

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
TAGS: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "python3", "py"}),
    "java": frozenset({"java"}),
    "cpp": frozenset({"cpp", "c++", "cxx", "cc", "c"}),
}


def extract_code(reply: str, language: str) -> str:
    """The longest block tagged with `language`, else the longest untagged block, else the
    reply itself (a model that answered with bare code). An unclosed fence runs to the end."""
    tagged: list[str] = []
    untagged: list[str] = []
    for match in _FENCE.finditer(reply):
        tag, body = match.group(1).lower(), match.group(2)
        if tag in TAGS.get(language, frozenset()):
            tagged.append(body)
        elif not tag:
            untagged.append(body)
    blocks = tagged or untagged
    if blocks:
        return textwrap.dedent(max(blocks, key=len)).strip("\n") + "\n"
    return reply.strip("\n") + "\n"
