"""Parse a student's step (plain text or a LaTeX subset) into a SymPy equation or expression.

Security note: SymPy's `parse_expr` evaluates the text as Python. A step is therefore read with
no Python builtins and only SymPy's maths names in scope (its classes, constants and maths
functions such as `sqrt` and `diff`), and text holding quotes, `__` or attribute access
(`.name`) is refused before parsing: no string can reach `sympify` and no object's attributes
can be walked to code.
"""

from __future__ import annotations

import re
from tokenize import TokenError
from typing import Any, TypeAlias

import sympy  # type: ignore[import-untyped]
from sympy.parsing.sympy_parser import (  # type: ignore[import-untyped]
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

# antlr4 is not installed, so sympy.parsing.latex is unavailable: a small converter handles
# the subset students actually type (\frac, \sqrt, ^{}, \cdot, \times, \left/\right).
_TRANSFORMS = (*standard_transformations, implicit_multiplication_application, convert_xor)
_SIMPLE_LATEX = {
    r"\cdot": "*",
    r"\times": "*",
    r"\div": "/",
    r"\left": "",
    r"\right": "",
    r"\le": "<=",
    r"\ge": ">=",
    r"\pi": "pi",
}


# Quotes, dunder names and attribute access: never maths, and the ways out of the parser.
_NOT_MATHS = re.compile(r"['\"`]|__|\.\s*[A-Za-z_]")


# SymPy's maths written as Python functions rather than classes; none turns text into code.
_MATHS_FUNCTIONS = (
    "sqrt", "root", "cbrt", "real_root", "diff", "integrate", "limit", "expand", "factor",
    "simplify", "gcd", "lcm",
)  # fmt: skip


def _maths_names() -> dict[str, Any]:
    """SymPy's classes (functions, `Symbol`, `Integer`, `Derivative`, ...) and constants, its
    maths functions, `abs`, and no builtins: what the parser's transformations and a step use."""
    names: dict[str, Any] = {
        name: value
        for name, value in vars(sympy).items()
        if not name.startswith("_")
        and (
            isinstance(value, sympy.Basic)
            or (isinstance(value, type) and issubclass(value, sympy.Basic))
        )
    }
    for name in _MATHS_FUNCTIONS:
        names[name] = getattr(sympy, name)
    names.update(abs=sympy.Abs, __builtins__={})
    return names


_MATHS_NAMES = _maths_names()


class StepParseError(ValueError):
    """The text is not a step the tutor can read; `reason` is the short why (`invalid syntax`)
    without the text, for a message that shows the text itself."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def _why(error: BaseException) -> str:
    """Python's or SymPy's reason without its location (`invalid syntax`, not
    `invalid syntax (<string>, line 1)`)."""
    if isinstance(error, SyntaxError) and error.msg:
        return error.msg
    if isinstance(error, TokenError) and error.args:
        return str(error.args[0])
    return str(error) or type(error).__name__


def _braced(text: str, start: int) -> tuple[str, int]:
    """Return the contents of the {...} group opening at `start` and the index after it."""
    if start >= len(text) or text[start] != "{":
        raise StepParseError(f"expected '{{' at position {start} in {text!r}")
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    raise StepParseError(f"unbalanced braces in {text!r}")


def latex_to_plain(text: str) -> str:
    """Convert the common LaTeX subset to plain SymPy-parsable text."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(r"\frac", i):
            num, i = _braced(text, i + 5)
            den, i = _braced(text, i)
            out.append(f"(({latex_to_plain(num)})/({latex_to_plain(den)}))")
        elif text.startswith(r"\sqrt", i):
            body, i = _braced(text, i + 5)
            out.append(f"sqrt({latex_to_plain(body)})")
        elif text[i] == "{":
            body, i = _braced(text, i)
            out.append(f"({latex_to_plain(body)})")
        else:
            for command, plain in _SIMPLE_LATEX.items():
                if (
                    text.startswith(command, i)
                    and not text[i + len(command) : i + len(command) + 1].isalpha()
                ):
                    out.append(plain)
                    i += len(command)
                    break
            else:
                out.append(text[i])
                i += 1
    return "".join(out)


def _expr(text: str) -> sympy.Expr:
    if _NOT_MATHS.search(text):
        reason = "quotes, `__` and `.name` are not maths"
        raise StepParseError(f"cannot read {text!r}: {reason}", reason)
    try:
        # A copy: parsing may add names to the namespace it is given.
        names = dict(_MATHS_NAMES)
        result = parse_expr(text, global_dict=names, transformations=_TRANSFORMS, evaluate=True)
    except (SyntaxError, TokenError, TypeError, ValueError, sympy.SympifyError) as exc:
        reason = _why(exc)
        raise StepParseError(f"cannot read {text!r}: {reason}", reason) from exc
    if not isinstance(result, sympy.Expr):
        raise StepParseError(f"{text!r} is not an expression")
    return result


# SymPy is untyped: a Step is an Expr or a Relational (Eq, <, <=, >, >=).
Step: TypeAlias = Any


def parse_step(text: str) -> Step:
    """Parse one step: `3x + 7 = 22`, `x^2 - 1`, `\\frac{x}{2} \\le 3`, `x > 2`."""
    cleaned = text.strip().strip("$").strip()
    if not cleaned:
        raise StepParseError("empty step")
    if "\\" in cleaned or "{" in cleaned:
        cleaned = latex_to_plain(cleaned)
    if re.fullmatch(r"(?i)no (real )?solutions?", cleaned):
        return sympy.false
    alternatives = re.split(r"(?i)\s+or\s+", cleaned)
    if len(alternatives) > 1:
        return sympy.Or(*(parse_step(part) for part in alternatives), evaluate=False)
    for op in ("<=", ">=", "<", ">", "="):
        if op in cleaned:
            left, _, right = cleaned.partition(op)
            if any(o in right for o in ("<", ">", "=")):
                raise StepParseError(f"chained relations are not supported: {text!r}")
            lhs, rhs = _expr(left), _expr(right)
            relation: Step = sympy.Rel(lhs, rhs, "==" if op == "=" else op, evaluate=False)
            return relation
    return _expr(cleaned)
