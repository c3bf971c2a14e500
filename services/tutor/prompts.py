"""The tutor's prompts: friendly reasons (`REWRITE`) and word problems, program-aided (`PAL`)
or direct (`DIRECT`, reasoning in prose).

The few-shot word problems below were written for Twincore in GSM8K's style; none is taken from
GSM8K, so the evaluation file stays unseen. Each program gives every quantity a named variable
and ends with `answer = ...` (the runner prints the variables; see `word/program.py`).
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate

REWRITE = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You are a kind maths tutor. Rewrite the reason for one step of a worked solution "
            "as one short, friendly sentence in {language_name} that a student understands. "
            "Keep its meaning exactly. Do not write any equation, formula or number that is not "
            "already in the reason or the step. Reply with the sentence only.",
        ),
        ("human", "Previous step: {previous}\nThis step: {current}\nReason: {reason}"),
    ]
)
"""One step's reason rewritten for the student (`steps/explain.py` checks the rewrite)."""

PAL_SYSTEM = (
    "You solve math word problems by writing a short Python 3 program. Give every quantity "
    "its own variable with a descriptive name, compute step by step in the order of the "
    "problem, and assign the final number to a variable named `answer`. Do not print and do "
    "not read input. You may use SymPy to solve an equation. Reply with one ```python code "
    "block and nothing else."
)

DIRECT_SYSTEM = (
    "You solve math word problems. Reason step by step in a few short sentences, computing "
    "each quantity with its arithmetic, then end with a last line `Answer: N` where N is only "
    "the final number."
)

# (problem, program, reasoning in prose); answers 6, 10.5, 110, 48, 16.
EXAMPLES: tuple[tuple[str, str, str], ...] = (
    (
        "A bakery bakes 36 muffins each morning. It sells two thirds of them before noon and "
        "half of the rest in the afternoon. How many muffins are left at closing time?",
        "muffins_baked = 36\n"
        "sold_before_noon = muffins_baked * 2 / 3\n"
        "left_at_noon = muffins_baked - sold_before_noon\n"
        "sold_in_afternoon = left_at_noon / 2\n"
        "answer = left_at_noon - sold_in_afternoon",
        "Before noon it sells 36 * 2 / 3 = 24 muffins, so 36 - 24 = 12 are left. In the "
        "afternoon it sells 12 / 2 = 6, so 12 - 6 = 6 muffins are left.\nAnswer: 6",
    ),
    (
        "Omar rides his bike at 12 miles per hour for 45 minutes, then walks 1.5 miles. How "
        "many miles does he travel in all?",
        "bike_speed_mph = 12\n"
        "bike_hours = 45 / 60\n"
        "bike_miles = bike_speed_mph * bike_hours\n"
        "walk_miles = 1.5\n"
        "answer = bike_miles + walk_miles",
        "45 minutes is 45 / 60 = 0.75 hours, so he rides 12 * 0.75 = 9 miles. With the walk he "
        "travels 9 + 1.5 = 10.5 miles.\nAnswer: 10.5",
    ),
    (
        "A jacket costs $80. It is on sale for 25% off, and then a $5 coupon is taken off the "
        "sale price. Lena buys 2 jackets this way. How much does she pay?",
        "jacket_price = 80\n"
        "sale_price = jacket_price * (1 - 25 / 100)\n"
        "price_after_coupon = sale_price - 5\n"
        "jackets = 2\n"
        "answer = jackets * price_after_coupon",
        "25% off $80 is 80 * 0.75 = $60. After the coupon one jacket costs 60 - 5 = $55. Two "
        "jackets cost 2 * 55 = $110.\nAnswer: 110",
    ),
    (
        "Tom is 4 times as old as his daughter. In 6 years he will be 3 times as old as she "
        "will be then. How old is Tom now?",
        "from sympy import Eq, solve, symbols\n\n"
        "daughter = symbols('daughter')\n"
        "daughter_age = solve(Eq(4 * daughter + 6, 3 * (daughter + 6)), daughter)[0]\n"
        "tom_age = 4 * daughter_age\n"
        "answer = tom_age",
        "Let the daughter be d years old; Tom is 4d. In 6 years: 4d + 6 = 3(d + 6) = 3d + 18, "
        "so d = 12. Tom is 4 * 12 = 48.\nAnswer: 48",
    ),
    (
        "A printer prints 15 pages per minute. How many minutes does it take to print 6 "
        "reports of 40 pages each?",
        "pages_per_minute = 15\n"
        "reports = 6\n"
        "pages_per_report = 40\n"
        "total_pages = reports * pages_per_report\n"
        "answer = total_pages / pages_per_minute",
        "The reports have 6 * 40 = 240 pages. At 15 pages per minute that takes 240 / 15 = 16 "
        "minutes.\nAnswer: 16",
    ),
)


def _shots(mode: str) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for problem, program, prose in EXAMPLES:
        messages.append(HumanMessage(content=problem))
        reply = f"```python\n{program}\n```" if mode == "pal" else prose
        messages.append(AIMessage(content=reply))
    return messages


# Message objects (not templates) carry the examples, so their code is never read as
# template variables.
PAL = ChatPromptTemplate.from_messages(
    [("system", PAL_SYSTEM), *_shots("pal"), ("human", "{question}")]
)
DIRECT = ChatPromptTemplate.from_messages(
    [("system", DIRECT_SYSTEM), *_shots("direct"), ("human", "{question}")]
)
PROMPTS = {"pal": PAL, "direct": DIRECT}
