"""Text-to-Cypher's two ends: the query in a core's reply, and an answer written from rows only.

The loop between them (prompt, checker, repair turn, other core) is `cypher/cascade.py`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from twincore.services.support.answer import Citation

log = logging.getLogger(__name__)

MAX_TOKENS = 120  # a Northwind query fits; longer replies are rambling
# Examples per prompt: each costs ~60 prompt tokens of prefill on every attempt.
EXAMPLES = 3
# Rows shown in the answer text; all rows stay on the Answer for the caller.
SHOWN_ROWS = 10
ID_KEYS = ("orderID", "customerID", "productID", "supplierID", "employeeID", "categoryID")

_FENCE = re.compile(r"```(?:cypher|sql)?\s*\n?(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)
_START = re.compile(r"\b(MATCH|OPTIONAL\s+MATCH|WITH|UNWIND|RETURN)\b", re.IGNORECASE)


def extract_cypher(text: str) -> str:
    """The query in the core's reply: a fenced block, else from the first clause keyword on."""
    m = _FENCE.search(text)
    body = m.group(1) if m else text
    start = _START.search(body)
    return (body[start.start() :] if start else body).strip().strip("`").strip()


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if not k.startswith("_")}
        return ", ".join(f"{k}={v}" for k, v in list(shown.items())[:4])
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _citation(index: int, row: dict[str, Any]) -> Citation:
    """Cite the row by the id of a node it returns, or by an id column, else by its number."""
    for value in row.values():
        if isinstance(value, dict):
            labels = value.get("_labels") or ["Node"]
            for key in ID_KEYS:
                if key in value:
                    return Citation(index, str(labels[0]), str(value[key]))
    for col, value in row.items():
        for key in ID_KEYS:
            if col.lower().endswith(key.lower()):
                return Citation(index, key[: -len("ID")].capitalize(), str(value))
    return Citation(index, "Row", str(index))


def rows_answer(rows: list[dict[str, Any]]) -> tuple[str, list[Citation]]:
    """A plain rendering of the rows with `[n]` markers: nothing in it that is not in a row."""
    cites = [_citation(i + 1, r) for i, r in enumerate(rows)]
    lines = [
        "; ".join(f"{k}: {_cell(v)}" for k, v in r.items()) + f" [{c.index}]"
        for r, c in zip(rows[:SHOWN_ROWS], cites, strict=False)
    ]
    more = f"\n(and {len(rows) - SHOWN_ROWS} more rows)" if len(rows) > SHOWN_ROWS else ""
    noun = "result" if len(rows) == 1 else "results"
    return f"I found {len(rows)} {noun}:\n" + "\n".join(lines) + more, cites
