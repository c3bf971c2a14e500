"""The shipped style classifier scores the held-out exemplar split at 85% or better."""

from __future__ import annotations

from twincore.services.writing.classifier import accuracy, load_classifier, split_exemplars, train


def test_shipped_artifact_held_out_accuracy() -> None:
    model = load_classifier()
    _, held_out = split_exemplars()
    assert len(held_out) == 12
    assert accuracy(model, held_out) >= 0.85


def test_training_is_deterministic_and_rejects_unknown_labels() -> None:
    train_set, _ = split_exemplars()
    texts, labels = [t for t, _ in train_set[:4]], [lbl for _, lbl in train_set[:4]]
    a = train(texts, labels, epochs=5)
    b = train(texts, labels, epochs=5)
    assert (a.weights == b.weights).all()
    try:
        train(texts, ["nope"] * 4, epochs=1)
    except ValueError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("unknown label accepted")
