"""The packaged routing policy is the one `twincore router fit` makes from the packaged answers
(the seed policy's rules, weights and threshold fitted on the calibration half), so the default
cannot drift from its provenance."""

from __future__ import annotations

from pathlib import Path

from twincore.platform.evals.runner import load_items, read_answers
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.fit import fit_policy
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.rules import load_policy, packaged_policy, seed_policy

ANSWERS = Path(packaged_policy()).with_name("fit_answers.jsonl")


def test_the_packaged_policy_is_the_fit_of_the_packaged_answers() -> None:
    packaged = load_policy(packaged_policy())
    recorded = read_answers(ANSWERS)
    items = [
        i for i in load_items(None)
        if all(i.id in recorded.get(core, {}) for core in ("swift", "deep"))
    ]  # fmt: skip
    seed = TwoStagePolicy(load_policy(seed_policy()), TaskClassifier.load())
    refit = fit_policy(seed, items, recorded, source=ANSWERS.name)
    assert refit.score == packaged.score
    assert refit.deep_threshold == packaged.deep_threshold
    assert refit.rules == packaged.rules and refit.escalation == packaged.escalation
    ignored = {"fitted_at", "report"}  # when it ran; the report half is measured after the fit
    assert {k: v for k, v in refit.provenance.items() if k not in ignored} == {
        k: v for k, v in packaged.provenance.items() if k not in ignored
    }
    assert packaged.provenance["classifier"] == TaskClassifier.load().version
