"""Mastery by Bayesian knowledge tracing, and the next skill to practise.

BKT (Corbett and Anderson, 1995) keeps P(known) per student and skill. After an attempt:

    correct: P(L | obs) = P(L) (1 - S) / (P(L) (1 - S) + (1 - P(L)) G)
    wrong:   P(L | obs) = P(L) S / (P(L) S + (1 - P(L)) (1 - G))
    then     P(L') = P(L | obs) + (1 - P(L | obs)) T

with G = p_guess, S = p_slip, T = p_learn and P(L0) = p_init (knowledge_tree.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from twincore.services.tutor.curriculum.knowledge import BktParams, KnowledgeTree, Skill

SkillState = Literal["locked", "open", "mastered"]


def bkt_update(p_known: float, correct: bool, params: BktParams) -> float:
    """P(known) after one observed attempt (the formulas in the module docstring)."""
    if not 0 <= p_known <= 1:
        raise ValueError(f"P(known) must be within [0, 1], not {p_known}")
    if correct:
        evidence = p_known * (1 - params.p_slip)
        posterior = evidence / (evidence + (1 - p_known) * params.p_guess)
    else:
        evidence = p_known * params.p_slip
        posterior = evidence / (evidence + (1 - p_known) * (1 - params.p_guess))
    return posterior + (1 - posterior) * params.p_learn


def known(tree: KnowledgeTree, mastery: Mapping[str, float], skill_id: str) -> float:
    """P(known) for a skill: the stored value, else the prior."""
    return mastery.get(skill_id, tree.bkt.p_init)


def skill_state(tree: KnowledgeTree, mastery: Mapping[str, float], skill: Skill) -> SkillState:
    """`mastered` at the mastery threshold; `open` when every prerequisite reaches the unlock
    threshold or the student has already practised the skill; else `locked`.

    `mastery` holds the skills a student has attempted. Any problem can be typed and practised,
    so a skill whose P(known) is moving by practice is not shown as locked: locks say what the
    tutor will not recommend yet, not what the student may not try.
    """
    if known(tree, mastery, skill.id) >= tree.mastered:
        return "mastered"
    if skill.id in mastery:
        return "open"
    if all(known(tree, mastery, r) >= tree.unlock for r in skill.requires):
        return "open"
    return "locked"


@dataclass(frozen=True)
class Recommendation:
    skill: Skill | None
    reason: str


def recommend(tree: KnowledgeTree, mastery: Mapping[str, float]) -> Recommendation:
    """The first open, not yet mastered skill in curriculum (tree) order. The shipped tree lists
    prerequisites first, so a skill opened early by practice does not move ahead of the
    prerequisites still to learn."""
    for skill in tree.skills.values():
        if skill_state(tree, mastery, skill) != "open":
            continue
        p = known(tree, mastery, skill.id)
        if skill.requires:
            why = f"prerequisites {', '.join(skill.requires)} reach {tree.unlock:.2f}"
        else:
            why = "it has no prerequisites"
        return Recommendation(
            skill, f"{skill.name}: P(known) {p:.2f} is below {tree.mastered:.2f} and {why}"
        )
    return Recommendation(None, "every skill is mastered")
