"""Seeded practice problems per skill: each exercises its skill, the same seed gives the same
problems, and an unknown skill or a bad count is refused."""

from __future__ import annotations

import pytest

from twincore.platform.errors import Invalid, NotFound
from twincore.services.tutor.curriculum.knowledge import default_tree
from twincore.services.tutor.curriculum.practice import practice_problems
from twincore.services.tutor.solvers.dispatch import solve


def test_every_skill_gets_seeded_problems_that_exercise_it() -> None:
    tree = default_tree()
    for skill in tree.skills.values():
        (problem,) = practice_problems(tree, skill.id, seed=3)
        assert problem.kind == skill.kind and skill.id in problem.skills
        assert solve(problem.text).all_verified
    first = practice_problems(tree, "inequality_sign_flip", seed=1, count=3)
    assert first == practice_problems(tree, "inequality_sign_flip", seed=1, count=3)
    assert len({p.text for p in first}) == 3
    assert first != practice_problems(tree, "inequality_sign_flip", seed=2, count=3)
    with pytest.raises(NotFound, match="unknown skill 'trig'"):
        practice_problems(tree, "trig")
    with pytest.raises(Invalid, match="count"):
        practice_problems(tree, "power_rule", count=0)
