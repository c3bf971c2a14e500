"""Where unreadable maths goes wrong: a position and a marked copy for the error message.

SymPy's parser reports errors against its own rewritten text, so the position is found here on
the student's text: unbalanced brackets, characters no step may contain, then Python's own
syntax check of each side with implicit multiplication made explicit (`3x` -> `3*x`) through an
index map back to the original characters.
"""

from __future__ import annotations

import ast
import re

# Besides ASCII: infinity, times, divide, minus, middle dot, <=, >=, root, pi, integral, arrow.
_ALLOWED = re.compile(
    r"[\w\s+\-*/^().,;=<>!\\{}\[\]|$']|[\u221e\u00d7\u00f7\u2212\u00b7\u2264\u2265\u221a\u03c0\u222b\u2192]"
)
_COMMAND = re.compile(
    r"^\s*(?:expand|factor|simplify|d/d[a-z]|derivative(?:\s+of)?|differentiate|"
    r"integrate|integral(?:\s+of)?|∫|(?:lim|limit)\s+[a-z]\s*(?:->|→|to)\s*\S+(?:\s+of)?)\s*:?",
    re.I,
)
_TAIL = re.compile(r"(?:\s+d[a-z])?(?:\s+from\s+\S+\s+to\s+\S+)?\s*$", re.I)
_RELATION = re.compile(r"<=|>=|≤|≥|<|>|=")
_UNICODE = {
    "\u00d7": "*",
    "\u00f7": "/",
    "\u2212": "-",
    "\u00b7": "*",
    "^": "**",
    "\u03c0": "pi",
    "\u221e": "oo",
}


def _brackets(text: str) -> int | None:
    opened: list[int] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for index, char in enumerate(text):
        if char in "([{":
            opened.append(index)
        elif char in pairs:
            if not opened or text[opened[-1]] != pairs[char]:
                return index
            opened.pop()
    return opened[-1] if opened else None


def _python_offset(part: str) -> int | None:
    """Index in `part` where Python's parser stops, with `3x`/`2(`/`)(` multiplied explicitly."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(part):
        previous = out[-1] if out else ""
        if (previous.isdigit() or previous == ")") and (char.isalpha() or char == "("):
            out.append("*")
            origin.append(index)
        replacement = _UNICODE.get(char, char)
        out.extend(replacement)
        origin.extend([index] * len(replacement))
    code = "".join(out)
    try:
        ast.parse(f"({code}\n)", mode="eval")
    except SyntaxError as exc:
        # The wrapping "(" shifts columns by one; offsets are 1-based.
        column = max((exc.offset or 1) - 2, 0)
        if exc.lineno and exc.lineno > 1:  # ran off the end of the text
            return len(part)
        return origin[column] if column < len(origin) else len(part)
    return None


def locate(text: str) -> int | None:
    """The 0-based index of the first unreadable character of `text`, or None if none is found."""
    bracket = _brackets(text)
    if bracket is not None:
        return bracket
    for index, char in enumerate(text):
        if not _ALLOWED.fullmatch(char):
            return index
    if "\\" in text or "{" in text:
        return None  # LaTeX: brackets are all this module checks
    head = _COMMAND.match(text)
    start = head.end() if head else 0
    tail = _TAIL.search(text, start)
    end = tail.start() if tail else len(text)
    body = text[start:end]
    cursor = 0
    for piece in re.split(r"\s+or\s+|[;,]", body):
        offset = body.index(piece, cursor)
        cursor = offset + len(piece)
        side_start = 0
        for relation in [*_RELATION.finditer(piece), None]:
            side_end = relation.start() if relation else len(piece)
            side = piece[side_start:side_end]
            if re.fullmatch(r"(?i)\s*no\s+(real\s+)?solutions?\s*", side):
                break
            found = _python_offset(side) if side.strip() else len(side)
            if found is not None:
                return start + offset + side_start + found
            side_start = relation.end() if relation else side_end
    return None


def describe(text: str, problem: str) -> str:
    """`problem` (the parser's message) with the position and a marked copy when one is found."""
    index = locate(text)
    if index is None:
        return problem
    shown = f"{text[:index]}⟨{text[index : index + 1] or ' '}⟩{text[index + 1 :]}"
    return f"cannot read {text!r} at position {index + 1}: {shown} ({problem})"
