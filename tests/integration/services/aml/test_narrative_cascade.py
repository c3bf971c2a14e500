"""SAR drafting on the escalation ladder with real small cores: a draft that fails the
number/section check is repaired (and escalated to deep when `auto` started on swift), visible
in the attempts; a draft that passes is accepted after one attempt."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.platform.router.setup import service_ladder
from twincore.platform.settings import Settings
from twincore.services.aml.narrative.check import check_narrative
from twincore.services.aml.narrative.draft import SERVICE, draft_sar, narrative_verdict
from twincore.services.aml.narrative.facts import FactTransaction, build_facts

pytestmark = pytest.mark.anyio

QWEN = "qwen2.5-coder-0.5b-instruct"
T0 = 1_661_990_400  # 2022-09-01 00:00 UTC
DAY = 86400


def _facts(count: int) -> dict[str, Any]:
    rows = [
        FactTransaction(0, T0 + 3600, "b1/A", "b2/S", 9500.0, "USD", "Cash"),
        FactTransaction(1, T0 + DAY, "b1/B", "b2/S", 9800.0, "USD", "Cash"),
        FactTransaction(2, T0 + 3 * DAY, "b2/S", "b3/X", 19_000.0, "USD", "Wire"),
    ]
    return build_facts(
        case_id=7,
        dataset="demo",
        subject="b2/S",
        score=0.91,
        patterns=["fan-in"],
        reasons=["deposits just under 10,000"],
        transactions=rows[:count],
    )


def _router(cores: dict[str, CoreServer]) -> Router:
    return Router(cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))


@pytest.fixture(scope="module")
def qwen_core(session_data_dir: Path) -> Iterator[CoreServer]:
    """The 0.5B swift default (int8), the smallest core that writes a whole SAR."""
    backend = NativeBackend(CoreProfile("swift", QWEN), data_dir=session_data_dir)
    yield CoreServer.from_backend(backend)
    backend.close()


async def test_a_draft_that_fails_its_check_is_repaired_then_escalated(
    smol_cores: dict[str, CoreServer], make_settings: Callable[..., Settings]
) -> None:
    # SmolLM2-135M echoes the fact sheet instead of writing WHO:..HOW: sections.
    facts = _facts(3)
    ladder = service_ladder(make_settings(), SERVICE)
    escalation = await draft_sar(
        _router(smol_cores), facts, model="auto", max_tokens=160, ladder=ladder
    )
    block = escalation.as_dict()
    attempts = block["attempts"]
    assert attempts[0]["step"] == "first" and attempts[0]["verdict"] == "fail"
    assert any("sections missing" in r for r in attempts[0]["reasons"])
    assert block["escalated"] and [a["step"] for a in attempts][:2] == ["first", "repair"]
    assert attempts[1]["core"] == attempts[0]["core"]
    if attempts[0]["core"] == "swift" and attempts[1]["verdict"] == "fail":
        assert attempts[2]["step"] == "other" and attempts[2]["core"] == "deep"
    assert len(attempts) <= ladder.max_attempts and all(a["tokens"] > 0 for a in attempts)
    # The narrative that stands carries its own check, and the verdict says the same.
    answer = escalation.answer
    assert answer.check == check_narrative(answer.text, facts)
    assert block["verdict"]["passed"] == (answer.check["ok"] and escalation.verdict.passed)
    if not escalation.verdict.passed:
        assert set(narrative_verdict(answer.check).reasons) <= set(escalation.verdict.reasons)


async def test_a_draft_that_passes_its_check_is_accepted_after_one_attempt(
    qwen_core: CoreServer,
) -> None:
    # Made reliable: a one-transaction case (few numbers to get wrong) and greedy decoding;
    # the 0.5B core writes all six sections with only the sheet's numbers and dates.
    facts = _facts(1)
    router = _router({"swift": qwen_core, "deep": qwen_core})
    escalation = await draft_sar(router, facts, model="swift", max_tokens=400)
    block = escalation.as_dict()
    assert block["verdict"] == {"passed": True, "reasons": [], "score": 1.0}
    assert not block["escalated"] and len(block["attempts"]) == 1
    assert block["attempts"][0] | {"ms": 0} == {
        "step": "first",
        "core": "swift",
        "verdict": "pass",
        "reasons": [],
        "candidates": 1,
        "tokens": block["attempts"][0]["tokens"],
        "ms": 0,
    }
    assert escalation.answer.check["ok"] and block["decision"]["core"] == "swift"
