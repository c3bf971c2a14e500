"""The knowledge tree: subjects -> topics -> skills with prerequisites, read from a data file.

The tree is validated when read (unique ids, known prerequisites, known problem kinds, no
prerequisite cycles) and tags problems with skills: a problem's skills are those whose `kind`
is the problem's detected kind and whose text pattern or solution-reason fragments match (see
the comment at the top of data/knowledge_tree.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from twincore.platform.errors import NotFound
from twincore.services.tutor.solvers.dispatch import KINDS, Solution

TREE_FILE = Path(__file__).parents[1] / "data" / "knowledge_tree.yaml"


class KnowledgeTreeError(ValueError):
    """The tree file is malformed: a missing field, a duplicate or unknown id, or a cycle."""


@dataclass(frozen=True)
class Skill:
    """A skill: what it is called, the problem kind that practices it, how problems are tagged."""

    id: str
    name: str
    topic: str
    kind: str
    requires: tuple[str, ...]
    problem: re.Pattern[str] | None
    reasons: tuple[str, ...]

    def tags(self, kind: str, text: str, reasons: Iterable[str]) -> bool:
        """True when a problem of `kind` with `text` and worked-step `reasons` uses this skill."""
        if kind != self.kind:
            return False
        if self.problem is None and not self.reasons:
            return True
        if self.problem is not None and self.problem.search(text):
            return True
        lowered = [r.lower() for r in reasons]
        return any(fragment.lower() in r for fragment in self.reasons for r in lowered)


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    subject: str
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Subject:
    id: str
    name: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class BktParams:
    """Bayesian knowledge tracing parameters (documented in the tree file)."""

    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float


@dataclass(frozen=True)
class KnowledgeTree:
    """The validated tree; `skills` keeps file order, which is also the curriculum order."""

    subjects: dict[str, Subject]
    topics: dict[str, Topic]
    skills: dict[str, Skill]
    bkt: BktParams
    unlock: float
    mastered: float

    def skill(self, skill_id: str) -> Skill:
        """One skill; `NotFound` naming the id when there is none."""
        try:
            return self.skills[skill_id]
        except KeyError:
            raise NotFound(f"unknown skill {skill_id!r}", param="skill") from None

    def tag(self, solution: Solution, text: str) -> tuple[str, ...]:
        """The skills a solved problem exercises, in tree order."""
        reasons = [step.reason for step in solution.steps[1:]]
        return tuple(s.id for s in self.skills.values() if s.tags(solution.kind, text, reasons))


def _text(node: Mapping[str, Any], key: str, where: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeTreeError(f"{where}: `{key}` must be a non-empty string")
    return value.strip()


def _list(node: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = node.get(key, [])
    if not isinstance(value, list):
        raise KnowledgeTreeError(f"{where}: `{key}` must be a list")
    return value


def _probability(node: Mapping[str, Any], key: str, where: str) -> float:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise KnowledgeTreeError(f"{where}: `{key}` must be a number strictly between 0 and 1")
    return float(value)


def find_cycle(requires: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A prerequisite cycle as a path `[a, b, ..., a]`, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in requires:
        if state.get(root):
            continue
        path: list[str] = [root]
        stack = [iter(requires.get(root, ()))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append(iter(requires.get(child, ())))
    return None


def _skill(node: Any, topic: str, where: str) -> Skill:
    if not isinstance(node, dict):
        raise KnowledgeTreeError(f"{where}: a skill must be a mapping")
    skill_id = _text(node, "id", where)
    where = f"skill {skill_id!r}"
    kind = _text(node, "kind", where)
    if kind not in KINDS:
        raise KnowledgeTreeError(f"{where}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    pattern = node.get("problem")
    try:
        problem = re.compile(pattern, re.I) if pattern else None
    except re.error as exc:
        raise KnowledgeTreeError(f"{where}: bad `problem` pattern: {exc}") from exc
    return Skill(
        id=skill_id,
        name=_text(node, "name", where),
        topic=topic,
        kind=kind,
        requires=tuple(str(r) for r in _list(node, "requires", where)),
        problem=problem,
        reasons=tuple(str(r) for r in _list(node, "reasons", where)),
    )


def parse_tree(document: Any) -> KnowledgeTree:
    """Validate a parsed tree document; `KnowledgeTreeError` says what is wrong and where."""
    if not isinstance(document, dict):
        raise KnowledgeTreeError("the tree must be a mapping with `subjects`")
    subjects: dict[str, Subject] = {}
    topics: dict[str, Topic] = {}
    skills: dict[str, Skill] = {}
    seen: set[str] = set()

    def claim(node_id: str) -> None:
        # One namespace for all ids, so an API path or a tree view never confuses two nodes.
        if node_id in seen:
            raise KnowledgeTreeError(f"duplicate id {node_id!r}")
        seen.add(node_id)

    for subject_node in _list(document, "subjects", "tree"):
        subject_id = _text(subject_node, "id", "a subject")
        claim(subject_id)
        topic_ids = []
        for topic_node in _list(subject_node, "topics", f"subject {subject_id!r}"):
            topic_id = _text(topic_node, "id", f"a topic of {subject_id!r}")
            claim(topic_id)
            skill_ids = []
            for skill_node in _list(topic_node, "skills", f"topic {topic_id!r}"):
                skill = _skill(skill_node, topic_id, f"a skill of {topic_id!r}")
                claim(skill.id)
                skills[skill.id] = skill
                skill_ids.append(skill.id)
            topic_name = _text(topic_node, "name", f"topic {topic_id!r}")
            topics[topic_id] = Topic(topic_id, topic_name, subject_id, tuple(skill_ids))
            topic_ids.append(topic_id)
        subject_name = _text(subject_node, "name", f"subject {subject_id!r}")
        subjects[subject_id] = Subject(subject_id, subject_name, tuple(topic_ids))
    if not skills:
        raise KnowledgeTreeError("the tree has no skills")
    for skill in skills.values():
        for required in skill.requires:
            if required not in skills:
                raise KnowledgeTreeError(f"skill {skill.id!r} requires unknown skill {required!r}")
    cycle = find_cycle({s.id: s.requires for s in skills.values()})
    if cycle is not None:
        raise KnowledgeTreeError(f"prerequisite cycle: {' -> '.join(cycle)}")
    bkt_node = document.get("bkt", {})
    thresholds = document.get("thresholds", {})
    if not isinstance(bkt_node, dict) or not isinstance(thresholds, dict):
        raise KnowledgeTreeError("`bkt` and `thresholds` must be mappings")
    bkt = BktParams(**{k: _probability(bkt_node, k, "bkt") for k in BktParams.__dataclass_fields__})
    if bkt.p_guess + bkt.p_slip >= 1:
        # Otherwise a correct answer would be evidence of *not* knowing the skill.
        raise KnowledgeTreeError("bkt: p_guess + p_slip must be below 1")
    return KnowledgeTree(
        subjects=subjects,
        topics=topics,
        skills=skills,
        bkt=bkt,
        unlock=_probability(thresholds, "unlock", "thresholds"),
        mastered=_probability(thresholds, "mastered", "thresholds"),
    )


def read_tree(path: Path) -> KnowledgeTree:
    """Read and validate a tree file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeTreeError(f"{path}: not valid YAML: {exc}") from exc
    return parse_tree(document)


@cache
def default_tree() -> KnowledgeTree:
    """The shipped tree (read once per process)."""
    return read_tree(TREE_FILE)
