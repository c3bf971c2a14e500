"""Unit tests for Bayesian knowledge tracing (hand-computed values) and the recommendation that
respects prerequisites."""

from __future__ import annotations

import pytest

from twincore.services.tutor.curriculum.knowledge import BktParams, default_tree
from twincore.services.tutor.curriculum.mastery import bkt_update, recommend, skill_state

PARAMS = BktParams(p_init=0.2, p_learn=0.15, p_guess=0.2, p_slip=0.1)


def test_bkt_update_matches_hand_computed_values() -> None:
    # correct: 0.2*0.9 / (0.2*0.9 + 0.8*0.2) = 0.18/0.34 = 0.529412; + 0.470588*0.15 = 0.6
    assert bkt_update(0.2, True, PARAMS) == pytest.approx(0.6)
    # wrong: 0.2*0.1 / (0.2*0.1 + 0.8*0.8) = 0.02/0.66 = 0.030303; + 0.969697*0.15 = 0.175758
    assert bkt_update(0.2, False, PARAMS) == pytest.approx(0.1757576, abs=1e-6)
    # a second correct answer: 0.6*0.9 / (0.54 + 0.4*0.2) = 0.870968; + 0.129032*0.15 = 0.890323
    assert bkt_update(0.6, True, PARAMS) == pytest.approx(0.8903226, abs=1e-6)


def test_bkt_moves_the_right_way_and_stays_a_probability() -> None:
    p = 0.2
    for _ in range(6):
        after = bkt_update(p, True, PARAMS)
        assert p < after < 1
        p = after
    assert p > 0.95
    assert 0 < bkt_update(p, False, PARAMS) < p
    with pytest.raises(ValueError, match="within"):
        bkt_update(1.2, True, PARAMS)


def test_states_follow_prerequisite_mastery() -> None:
    tree = default_tree()
    linear = tree.skill("linear_equation")  # requires both fraction skills
    assert skill_state(tree, {}, tree.skill("fraction_add_sub")) == "open"
    assert skill_state(tree, {}, linear) == "locked"
    half = {"fraction_add_sub": 0.9, "fraction_mul_div": 0.79}
    assert skill_state(tree, half, linear) == "locked"
    both = {"fraction_add_sub": 0.9, "fraction_mul_div": 0.8}
    assert skill_state(tree, both, linear) == "open"
    assert skill_state(tree, {**both, "linear_equation": 0.95}, linear) == "mastered"


def test_recommendation_is_the_first_open_unmastered_skill() -> None:
    tree = default_tree()
    assert recommend(tree, {}).skill is tree.skill("fraction_add_sub")
    assert recommend(tree, {"fraction_add_sub": 0.96}).skill is tree.skill("fraction_mul_div")
    unlocked = {"fraction_add_sub": 0.96, "fraction_mul_div": 0.96}
    chosen = recommend(tree, unlocked)
    assert chosen.skill is tree.skill("linear_equation")
    assert "prerequisites fraction_add_sub, fraction_mul_div reach 0.80" in chosen.reason
    # Open but unmastered skills come before anything they unlock.
    assert recommend(tree, {"fraction_add_sub": 0.85, "fraction_mul_div": 0.96}).skill is (
        tree.skill("fraction_add_sub")
    )
    everything = dict.fromkeys(tree.skills, 0.99)
    assert recommend(tree, everything).skill is None
    del everything["definite_integral"]
    assert recommend(tree, everything).skill is tree.skill("definite_integral")


def test_a_skill_is_never_recommended_before_its_prerequisites() -> None:
    tree = default_tree()
    mastery: dict[str, float] = {}
    for _ in range(len(tree.skills)):
        chosen = recommend(tree, mastery).skill
        if chosen is None:
            break
        assert all(mastery.get(r, 0) >= tree.unlock for r in chosen.requires)
        mastery[chosen.id] = 0.99
    assert recommend(tree, mastery).skill is None and len(mastery) == len(tree.skills)


def test_a_practised_skill_is_open_before_its_prerequisites() -> None:
    tree = default_tree()
    linear = tree.skill("linear_equation")
    # Typed and practised while its fraction prerequisites are at the prior: open, not locked,
    # whichever way its P(known) moved; what it unlocks stays locked.
    for practised in ({"linear_equation": 0.18}, {"linear_equation": 0.6}):
        assert skill_state(tree, practised, linear) == "open"
        assert skill_state(tree, practised, tree.skill("linear_both_sides")) == "locked"
    # The open prerequisites still come first in the recommendation.
    assert recommend(tree, {"linear_equation": 0.6}).skill is tree.skill("fraction_add_sub")
