"""Execution-guided choice among candidate queries for one question.

Each candidate has been through the checker (`verify`), so it carries how far it got: refused,
unbound, failed to run, ran without useful rows, accepted (`Checked.stage`). The one that got
furthest wins: a query that runs, binds every entity the question names and returns rows beats
one that does not. Among accepted ones the result set most of them agree on wins (a vote over
executions, as in execution-guided decoding), then the earliest (the greedy candidate comes
first).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from twincore.services.support.cypher.verify import Checked


def result_key(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a multiset of value tuples: column names and row order ignored, so two
    queries that return the same answer agree."""
    values = sorted(json.dumps(sorted(map(_plain, row.values())), default=str) for row in rows)
    return "\n".join(values)


def _plain(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def choose(candidates: Sequence[Checked]) -> int:
    """The index of the candidate to keep (see the module doc); `candidates` is not empty."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    furthest = max(c.stage for c in candidates)
    best = [i for i, c in enumerate(candidates) if c.stage == furthest]
    if not candidates[best[0]].verdict.passed:
        return best[0]
    votes = Counter(result_key(candidates[i].rows) for i in best)
    return max(best, key=lambda i: (votes[result_key(candidates[i].rows)], -i))
