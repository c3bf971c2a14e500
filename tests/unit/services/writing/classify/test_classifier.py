"""The style classifier: the shipped artifact is the one training on the shipped corpus writes,
and it scores the seeded held-out split of exemplars + labelled drafts at 85% or better."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twincore.services.writing.classify.classifier import (
    accuracy,
    labelled_split,
    load_classifier,
    per_style_accuracy,
    split_exemplars,
    train,
)
from twincore.services.writing.classify.labelled import MIN_SCORE, load_labelled
from twincore.services.writing.registry import load_styles


def shipped_pairs() -> list[tuple[str, str]]:
    return [(row["text"], row["style"]) for row in load_labelled()]


def test_retraining_on_the_shipped_split_reproduces_the_artifact_and_scores_85() -> None:
    train_set, held_out = labelled_split(shipped_pairs())
    model = train([t for t, _ in train_set], [lbl for _, lbl in train_set])
    shipped = load_classifier()
    assert shipped.labels == model.labels
    np.testing.assert_allclose(shipped.weights, model.weights, atol=1e-8)
    assert accuracy(model, held_out) >= 0.85
    assert set(per_style_accuracy(model, held_out)) == set(load_styles())


def test_the_split_is_seeded_stratified_and_disjoint() -> None:
    drafts = shipped_pairs()
    train_set, held_out = labelled_split(drafts)
    again_train, again_held = labelled_split(drafts)
    assert (train_set, held_out) == (again_train, again_held)
    assert {lbl for _, lbl in held_out} == set(load_styles())
    total = sum(len(s.exemplars) for s in load_styles().values()) + len(drafts)
    assert len(train_set) + len(held_out) == total
    assert not {t for t, _ in held_out} & {t for t, _ in train_set}
    other_train, _ = labelled_split(drafts, seed=1)
    assert other_train != train_set
    with pytest.raises(ValueError, match="share"):
        labelled_split(drafts, share=1.0)


def test_the_shipped_corpus_follows_the_labelling_rule() -> None:
    rows = load_labelled()
    assert {r["core"] for r in rows if r["provenance"]["source"] == "generated"} >= {"swift"}
    for r in rows:
        if r["provenance"]["source"] == "generated":
            assert r["score"] >= MIN_SCORE and r["provenance"]["model"]
    assert len({r["text"] for r in rows}) == len(rows)


def test_a_malformed_corpus_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "drafts.jsonl"
    path.write_text(json.dumps({"style": "haiku", "text": "a"}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_labelled(path)
    path.write_text(json.dumps({"style": "villanelle", "text": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="known style"):
        load_labelled(path)


def test_training_is_deterministic_and_rejects_unknown_labels() -> None:
    train_set, _ = split_exemplars()
    texts, labels = [t for t, _ in train_set[:4]], [lbl for _, lbl in train_set[:4]]
    a = train(texts, labels, epochs=5)
    b = train(texts, labels, epochs=5)
    assert (a.weights == b.weights).all()
    with pytest.raises(ValueError, match="nope"):
        train(texts, ["nope"] * 4, epochs=1)
