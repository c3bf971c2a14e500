"""Shared step type and verification for the step-producing solvers."""

from __future__ import annotations

from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]
from sympy.printing.latex import LatexPrinter  # type: ignore[import-untyped]

from twincore.services.tutor.steps.checker import Verdict, compare, is_statement, solution_set
from twincore.services.tutor.steps.parsing import Step


class UnsupportedProblemError(ValueError):
    """The problem is not of a type the solver handles (a clear error for the caller)."""


class UnverifiedStepError(RuntimeError):
    """A solver produced a step not equivalent to the previous one (a solver bug, never shown)."""


@dataclass(frozen=True)
class WorkedStep:
    """One step: the maths (equation, inequality, expression or system) and the reason for it.

    `domain_change` marks steps such as squaring, which may add roots (checked later) but must
    never lose one; `verified` is True once the step has been checked against the previous one.
    """

    math: Step
    reason: str
    verified: bool
    domain_change: bool = False

    def text(self) -> str:
        """Plain-text rendering (`x = 2 or x = -3`, `no real solution`, `2*x + y = 5; ...`)."""
        return render(self.math)

    def latex(self) -> str:
        """LaTeX for the screen (`3 x = 15`, `\\frac{d}{d x} x^{2}`); no `$` delimiters."""
        return latex(self.math)


def latex(math: Step) -> str:
    """Render a step as LaTeX, joined the way `render` joins its parts."""
    if isinstance(math, tuple):
        return r",\quad ".join(latex(part) for part in math)
    if math is sympy.false:
        return r"\text{no real solution}"
    if isinstance(math, sympy.Or):
        return r" \quad\text{or}\quad ".join(latex(arg) for arg in math.args)
    if isinstance(math, sympy.Eq):
        return f"{_LATEX.doprint(math.lhs)} = {_LATEX.doprint(math.rhs)}"
    return str(_LATEX.doprint(math))


class _StepLatex(LatexPrinter):  # type: ignore[misc]
    """SymPy's LaTeX, except that an unevaluated `1*3**-1` (a fraction step such as
    `2/6 + 3/6`, kept unevaluated so the student sees it) reads as a fraction, not `1 \\cdot
    \\frac{1}{3}`."""

    def _print_Mul(self, expr: sympy.Mul) -> str:  # noqa: N802 (SymPy's printer protocol)
        match expr.args:
            case (sympy.Integer() as top, sympy.Pow(base=sympy.Integer() as bottom, exp=-1)):
                return rf"\frac{{{top}}}{{{bottom}}}"
        return str(super()._print_Mul(expr))


_LATEX = _StepLatex()


def render(math: Step) -> str:
    """Render a step as plain text the parser reads back."""
    if isinstance(math, tuple):
        return "; ".join(render(part) for part in math)
    if math is sympy.false:
        return "no real solution"
    if isinstance(math, sympy.Or):
        return " or ".join(render(arg) for arg in math.args)
    if isinstance(math, sympy.Eq):
        return f"{math.lhs} = {math.rhs}"
    return str(math)


def first_node(expr: sympy.Expr, kind: type) -> sympy.Expr | None:
    """The first sub-expression of class `kind` in pre-order (the outermost unevaluated
    `Derivative` or `Integral` still to be worked on), or None."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, kind):
            return node
    return None


def first_step(math: Step) -> WorkedStep:
    """The problem itself, as the first step."""
    return WorkedStep(math, "the problem", True)


def verified(previous: Step, current: Step, reason: str) -> WorkedStep:
    """A step checked equivalent to `previous` (raises UnverifiedStepError otherwise)."""
    verdict, why = compare(previous, current)
    if verdict is not Verdict.OK:
        raise UnverifiedStepError(f"solver produced an unverified step {render(current)}: {why}")
    return WorkedStep(current, reason, True)


def widened(previous: Step, current: Step, var: sympy.Symbol, reason: str) -> WorkedStep:
    """A domain-changing step (squaring): it may add roots but must keep every old one."""
    if not (is_statement(previous) and is_statement(current)):
        raise UnverifiedStepError("only equations can be widened")
    if not solution_set(previous, var).is_subset(solution_set(current, var)):
        raise UnverifiedStepError(f"solver lost a solution at {render(current)}")
    return WorkedStep(current, reason, True, domain_change=True)


def single_variable(step: Step, problem: str) -> sympy.Symbol:
    """The one plain variable of `step`, or a clear error."""
    variables = sorted(step.free_symbols, key=str)
    if len(variables) != 1 or not isinstance(variables[0], sympy.Symbol):
        raise UnsupportedProblemError(f"{problem!r} must have exactly one variable")
    var: sympy.Symbol = variables[0]
    return var


def alternatives(var: sympy.Symbol, roots: list[sympy.Expr]) -> Step:
    """`x = a`, `x = a or x = b`, or `no real solution` for a list of real roots."""
    if not roots:
        return sympy.false
    equations = [sympy.Eq(var, r, evaluate=False) for r in roots]
    if len(equations) == 1:
        return equations[0]
    return sympy.Or(*equations, evaluate=False)
