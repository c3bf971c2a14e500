"""Stage 1: features, the shipped prompt set and artifact, training, and the router CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.platform.router.classifier import HEADS, TaskClassifier
from twincore.platform.router.features import FeatureSpec, featurize
from twincore.platform.router.training import TrainSettings, is_held_out, load_prompts, train

runner = CliRunner()


def test_features_are_stable_normalised_and_cover_chinese() -> None:
    spec = FeatureSpec()
    for text in ("Refund my order #123, please", "帮我查一下订单物流", "x"):
        indices, values = featurize(text, spec)
        assert indices and len(set(indices)) == len(indices)
        assert math.isclose(sum(v * v for v in values), 1.0, rel_tol=1e-6)
        assert featurize(text, spec) == (indices, values)
    assert featurize("", spec)[0]  # shape features only: still a valid vector
    long_text = "word " * 10_000
    assert len(featurize(long_text, spec)[0]) == len(featurize(long_text[:4000], spec)[0])


def test_the_shipped_prompt_set_is_big_balanced_and_bilingual() -> None:
    prompts = load_prompts()
    assert len(prompts) >= 600
    for domain in HEADS["domain"]:
        in_domain = [p for p in prompts if p.labels["domain"] == domain]
        assert len(in_domain) >= 80
        assert {p.lang for p in in_domain} == {"en", "zh"}
    assert 0.15 < sum(is_held_out(p) for p in prompts) / len(prompts) < 0.25


def test_the_packaged_artifact_matches_the_shipped_set_and_meets_the_bar() -> None:
    classifier = TaskClassifier.load()
    meta = classifier.meta
    assert meta["data"]["prompts"] == len(load_prompts())
    assert meta["held_out_accuracy"]["domain"] >= 0.90
    assert classifier.version.startswith(f"{meta['format']}.")
    labels = classifier.classify("Write a Python function that merges two sorted lists")
    assert labels.label("domain") == "code"
    for head, probs in labels.probabilities.items():
        assert set(probs) == set(HEADS[head]) and math.isclose(sum(probs.values()), 1, abs_tol=1e-3)


def test_forced_labels_override_predictions_but_not_probabilities() -> None:
    labels = TaskClassifier.load().classify("hello", forced={"domain": "aml", "bogus": "x"})
    assert labels.label("domain") == "aml" and labels.p("domain", "aml") == 1.0
    assert labels.as_dict()["domain"]["forced"] is True
    assert "bogus" not in labels.forced


def small_set(directory: Path) -> Path:
    rows = []
    for domain in HEADS["domain"]:
        for i in range(6):
            rows.append(
                {
                    "id": f"{domain}-{i}",
                    "text": f"{domain} request number {i} about {domain} things",
                    "lang": "en",
                    "domain": domain,
                    "interactivity": "realtime" if i % 2 else "offline",
                    "difficulty": "low" if i < 3 else "high",
                }
            )
    directory.mkdir()
    (directory / "set.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return directory


def test_train_writes_a_versioned_artifact_that_loads(tmp_path: Path) -> None:
    prompts = small_set(tmp_path / "prompts")
    meta = train(tmp_path / "out", prompts_dir=prompts, settings=TrainSettings(epochs=30))
    loaded = TaskClassifier.load(tmp_path / "out")
    assert loaded.version == meta["version"] and meta["data"]["prompts"] == 36
    assert loaded.classify("math request about math things").label("domain") == "math"
    again = train(tmp_path / "again", prompts_dir=prompts, settings=TrainSettings(epochs=30))
    assert again["version"] == meta["version"]  # same data and settings, same version
    (prompts / "set.jsonl").write_text(
        (prompts / "set.jsonl").read_text().replace("things", "stuff")
    )
    changed = train(tmp_path / "changed", prompts_dir=prompts, settings=TrainSettings(epochs=30))
    assert changed["version"] != meta["version"]


def test_bad_prompt_rows_name_file_and_line(tmp_path: Path) -> None:
    directory = tmp_path / "bad"
    directory.mkdir()
    row = {
        "id": "a",
        "text": "hi",
        "domain": "poetry",
        "interactivity": "realtime",
        "difficulty": "low",
    }
    (directory / "x.jsonl").write_text("\n" + json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=r"x.jsonl:2: domain must be one of"):
        load_prompts(directory)
    with pytest.raises(FileNotFoundError, match=r"no \*\.jsonl"):
        load_prompts(tmp_path)
    with pytest.raises(FileNotFoundError, match="twincore router train"):
        TaskClassifier.load(tmp_path)


def test_cli_classify_prints_labels_with_probabilities() -> None:
    result = runner.invoke(app, ["router", "classify", "怎么重置我的账户密码", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["classifier"] == TaskClassifier.load().version
    assert set(report["labels"]) == set(HEADS)
    assert report["labels"]["domain"]["label"] in HEADS["domain"]
    table = runner.invoke(app, ["router", "classify", "hello there"])
    assert table.exit_code == 0 and "interactivity" in table.stdout
    empty = runner.invoke(app, ["router", "classify", "  "])
    assert empty.exit_code == 2


def test_cli_train_uses_the_data_dir_and_the_router_picks_it_up(tmp_path: Path) -> None:
    prompts = small_set(tmp_path / "prompts")
    result = runner.invoke(app, ["router", "train", "--prompts", str(prompts), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert Path(report["path"]) == Path("var/router/classifier")
    classified = runner.invoke(app, ["router", "classify", "anything", "--json"])
    assert json.loads(classified.stdout)["classifier"] == report["version"]
    missing = runner.invoke(app, ["router", "train", "--prompts", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "cannot train" in missing.output
