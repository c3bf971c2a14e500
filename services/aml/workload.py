"""AML's router-evaluation workload: SAR narratives for generated cases.

Each item is a fact sheet built from a seeded random case (one to six transactions around a
subject: structuring deposits, fan-in, fan-out, layering wires), so the items are many, fixed
and need no dataset. The narrative's check (every number and date supported by the facts, every
section present, time order kept, not cut off) is both the run-time verifier and the ground
truth: a SAR that misstates a fact is wrong whatever else it says.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from twincore.platform.evals.workloads import Answerer, ItemResult, WorkItem
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.aml.narrative.draft import SERVICE, draft_sar
from twincore.services.aml.narrative.facts import FactTransaction, build_facts
from twincore.services.aml.service import NARRATIVE_MAX_TOKENS

SINGLE = Ladder(("first",), max_attempts=1)
T0 = 1_661_990_400  # 2022-09-01 00:00 UTC
PATTERNS = {
    "fan-in": "many senders paying one account just under the reporting threshold",
    "fan-out": "one account paying many receivers soon after a large deposit",
    "layering": "funds passed through intermediate accounts within days",
    "structuring": "repeated cash deposits just under 10,000",
}


def generated_case(seed: int) -> dict[str, Any]:
    """A fact sheet for case `seed` (deterministic)."""
    rng = random.Random(seed)  # noqa: S311 (a fixed test case, not a secret)
    pattern = rng.choice(sorted(PATTERNS))
    subject = f"b{rng.randint(1, 9)}/S{seed}"
    count = rng.randint(1, 6)
    currency = rng.choice(["USD", "EUR", "GBP"])
    rows, ts = [], T0 + rng.randint(0, 300) * 86400
    for txn in range(count):
        ts += rng.randint(1, 72) * 3600
        other = f"b{rng.randint(1, 9)}/C{rng.randint(10, 99)}"
        inbound = pattern in ("fan-in", "structuring") or (pattern == "layering" and txn == 0)
        sender, receiver = (other, subject) if inbound else (subject, other)
        amount = round(rng.uniform(8000, 9990) if inbound else rng.uniform(1000, 40000), 2)
        fmt = "Cash" if pattern == "structuring" else rng.choice(["Wire", "ACH", "Cash"])
        rows.append(FactTransaction(txn, ts, sender, receiver, amount, currency, fmt))
    return build_facts(
        case_id=seed,
        dataset="generated",
        subject=subject,
        score=round(rng.uniform(0.6, 0.99), 2),
        patterns=[pattern],
        reasons=[PATTERNS[pattern]],
        transactions=rows,
    )


class AmlWorkload:
    service = SERVICE

    def items(self, limit: int | None = None) -> list[WorkItem]:
        count = 60 if limit is None else limit
        return [
            WorkItem(
                f"aml/case-{seed:03d}",
                SERVICE,
                f"Draft the SAR narrative for case {seed} ({len(case['transactions'])} "
                f"transactions, {case['patterns'][0]}).",
                {"seed": seed},
                {"domain": "aml"},
                group=case["patterns"][0],
            )
            for seed in range(count)
            for case in (generated_case(seed),)
        ]

    @asynccontextmanager
    async def open(self, router: RouterClient, settings: Settings) -> AsyncIterator[Answerer]:
        async def answer(item: WorkItem, core: str) -> ItemResult:
            facts = generated_case(int(item.payload["seed"]))
            result = await draft_sar(router, facts, model=core, max_tokens=NARRATIVE_MAX_TOKENS,
                                     ladder=SINGLE)  # fmt: skip
            first = result.attempts[0]
            return ItemResult(result.verdict.passed, result.verdict.passed, result.answer.text,
                              0, first.tokens)  # fmt: skip

        yield answer


WORKLOAD = AmlWorkload()
