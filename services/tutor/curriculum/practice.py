"""Practice problems for a skill, drawn from the seeded symbolic generator (solvers/suite.py).

The generator draws problems of the skill's kind with its own variants; a draw is kept when the
tree tags its worked solution with the skill (rejection sampling), so a practice problem for
`inequality_sign_flip` really needs the sign flipped. The same (skill, seed) gives the same
problems.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from twincore.platform.errors import Invalid
from twincore.services.tutor.curriculum.knowledge import KnowledgeTree
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.solvers.suite import GENERATORS

MAX_COUNT = 20
MAX_DRAWS = 400
"""Draws per problem before giving up: the rarest tagged variant (the product rule) is about
one derivative in seven, so 400 draws miss it with probability below 1e-25."""


@dataclass(frozen=True)
class PracticeProblem:
    """A generated problem with the skills its worked solution exercises."""

    text: str
    kind: str
    skills: tuple[str, ...]


def practice_problems(
    tree: KnowledgeTree, skill_id: str, *, seed: int = 0, count: int = 1
) -> list[PracticeProblem]:
    """`count` distinct problems for the skill; `NotFound` for an unknown skill."""
    skill = tree.skill(skill_id)
    if not 1 <= count <= MAX_COUNT:
        raise Invalid(f"count must be between 1 and {MAX_COUNT}", param="count")
    # A string seed is hashed deterministically by random.Random (unlike hash()).
    rng = random.Random(f"{skill.id}:{seed}")  # noqa: S311 - practice problems, not security
    make = GENERATORS[skill.kind]
    found: list[PracticeProblem] = []
    texts: set[str] = set()
    for _ in range(MAX_DRAWS * count):
        drawn = make(rng)
        if drawn.text in texts:
            continue
        skills = tree.tag(solve(drawn.text), drawn.text)
        if skill.id in skills:
            found.append(PracticeProblem(drawn.text, skill.kind, skills))
            texts.add(drawn.text)
            if len(found) == count:
                return found
    raise RuntimeError(f"the generator found no problem for skill {skill.id!r}")
