"""Unit tests for the knowledge tree: the shipped file, validation with clear errors (cycles,
unknown ids), and tagging problems with skills from their kind and worked solution."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from twincore.services.tutor.curriculum.knowledge import (
    TREE_FILE,
    KnowledgeTreeError,
    default_tree,
    find_cycle,
    parse_tree,
)
from twincore.services.tutor.solvers.dispatch import KINDS, solve
from twincore.services.tutor.solvers.suite import generate


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(TREE_FILE.read_text(encoding="utf-8"))
    return copy.deepcopy(document)


def _skill_node(document: dict[str, Any], skill_id: str) -> dict[str, Any]:
    for subject in document["subjects"]:
        for topic in subject["topics"]:
            for skill in topic["skills"]:
                if skill["id"] == skill_id:
                    found: dict[str, Any] = skill
                    return found
    raise AssertionError(skill_id)


def test_shipped_tree_covers_the_issue_topics_and_every_solver_kind() -> None:
    tree = default_tree()
    assert set(tree.subjects) == {"arithmetic", "algebra", "calculus"}
    names = " ".join(t.name.lower() for t in tree.topics.values())
    for topic in ("fractions", "linear", "inequalities", "systems", "quadratic", "polynomials",
                  "functions", "derivatives", "integrals", "limits"):  # fmt: skip
        assert topic in names, topic
    assert {s.kind for s in tree.skills.values()} == set(KINDS)
    assert tree.skill("linear_both_sides").requires == ("linear_equation",)
    assert tree.bkt.p_init == 0.2 and tree.unlock == 0.8 and tree.mastered == 0.95


def test_every_generated_problem_is_tagged_with_a_skill_of_its_kind() -> None:
    tree = default_tree()
    for problem in generate(per_kind=3):
        skills = tree.tag(solve(problem.text), problem.text)
        assert skills, problem.text
        assert all(tree.skill(s).kind == problem.kind for s in skills)


@pytest.mark.parametrize(
    ("problem", "expected", "absent"),
    [
        ("3x + 7 = 22", {"linear_equation"}, {"linear_both_sides"}),
        ("2x + 3 = x - 4", {"linear_equation", "linear_both_sides"}, set()),
        ("-2x + 1 < 5", {"inequality_linear", "inequality_sign_flip"}, set()),
        ("2x + 1 < 5", {"inequality_linear"}, {"inequality_sign_flip"}),
        ("x^2 - 5x + 6 = 0", {"quadratic_standard_form", "quadratic_factoring"}, set()),
        ("x^2 + x + 1 = 0", {"quadratic_formula"}, {"quadratic_factoring"}),
        ("sqrt(x) = -1", {"radical_squaring", "extraneous_roots"}, set()),
        ("d/dx (x*sin(x))", {"product_rule", "elementary_functions"}, {"composite_functions"}),
        ("d/dx (cos(x^2))", {"composite_functions", "power_rule"}, {"product_rule"}),
        ("integrate 2x + 1 from 0 to 2", {"definite_integral", "antiderivative_power"}, set()),
        ("lim x->oo (3x^2 + 1)/(x^2 + 1)", {"limit_infinity"}, {"limit_cancel"}),
        ("1/2 * 3/4", {"fraction_mul_div"}, {"fraction_add_sub"}),
    ],
)
def test_tags_come_from_kind_text_and_solution_reasons(
    problem: str, expected: set[str], absent: set[str]
) -> None:
    skills = set(default_tree().tag(solve(problem), problem))
    assert expected <= skills and not absent & skills, skills


def test_find_cycle_returns_the_closed_path() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": [], "b": ["b"]}) == ["b", "b"]
    diamond = {"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []}
    assert find_cycle(diamond) is None


def test_a_prerequisite_cycle_is_refused_naming_the_cycle() -> None:
    document = _document()
    _skill_node(document, "fraction_add_sub")["requires"] = ["linear_both_sides"]
    cycle = "fraction_add_sub -> linear_both_sides -> linear_equation -> fraction_add_sub"
    with pytest.raises(KnowledgeTreeError, match=f"^prerequisite cycle: {cycle}$"):
        parse_tree(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _skill_node(d, "power_rule").update(requires=["nope"]), "unknown skill 'nope'"),
        (lambda d: _skill_node(d, "power_rule").update(kind="trig"), "unknown kind 'trig'"),
        (lambda d: _skill_node(d, "power_rule").update(id="fractions"), "duplicate id"),
        (lambda d: _skill_node(d, "power_rule").update(problem="("), "bad `problem` pattern"),
        (lambda d: _skill_node(d, "power_rule").pop("name"), "`name` must be a non-empty"),
        (lambda d: d["bkt"].update(p_slip=1.5), "p_slip"),
        (lambda d: d["bkt"].update(p_guess=0.5, p_slip=0.6), "p_guess \\+ p_slip"),
        (lambda d: d.update(subjects=[]), "no skills"),
    ],
)
def test_malformed_trees_are_refused_with_a_clear_error(change: Any, message: str) -> None:
    document = _document()
    change(document)
    with pytest.raises(KnowledgeTreeError, match=message):
        parse_tree(document)
