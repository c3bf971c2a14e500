"""YAML parsers fuzzed: the files the CLI and the platform read (Serve configs, twincore.yaml,
routing policies, known issues) and the YAML a model replies with, each given documents of the
wrong shape, values PyYAML's constructors refuse, deep nesting and bytes that are not UTF-8.
The only failure allowed is each parser's own clear error."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import typer
import yaml
from hypothesis import strategies as st

from twincore.platform.cli.context import load_settings
from twincore.platform.router.rules import PolicyFileError, load_policy
from twincore.platform.safe_yaml import UnreadableYaml, load_yaml
from twincore.platform.serve_config import TWINCORE_IMPORT_PATH, ServeConfigError
from twincore.platform.serve_config import read_serve_config as read_serve
from twincore.platform.settings import CONFIG_FILE_ENV
from twincore.services.support.knowledge.extraction import ExtractionError, reply_yaml
from twincore.services.support.knowledge.issues import KnowledgeError
from twincore.services.support.knowledge.issues import read_file as read_issues

EXAMPLES = 60
# Values PyYAML's safe loader used to raise other than YAMLError on, and their neighbours.
REFUSED_VALUES = [
    "2021-02-30", "2021-13-01", "2001-12-14t21:59:43.10-99:00", "!!int 0x", "!!float x",
    "!!timestamp 99", "!!binary '@'", "9" * 5000, "*undefined",
    "!!python/object/apply:os.system ['true']", "!!set {a, b}", "{a: 1, a: 2}", "&x [*x]",
]  # fmt: skip
DEEP = "[" * 2000 + "]" * 2000
"""RecursionError in PyYAML's composer; parsing it takes seconds, so it is tried once, not
in every generated file."""
REFUSED_DOCUMENTS = ["? [1]\n: 2", "'unterminated", "a: b: c", "\t- x", "%YAML 9.9\n--- 1", "\x00"]


def values(keys: list[str]) -> st.SearchStrategy[Any]:
    """Plain YAML values whose mappings mostly use a format's `keys`."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=6))
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=4),
        max_leaves=12,
    )


def documents(keys: list[str]) -> st.SearchStrategy[bytes]:
    """YAML files near a format whose `keys` are given: valid YAML of the wrong shape, those
    keys over refused values, broken documents, random text and bytes."""
    lines = st.lists(
        st.tuples(st.sampled_from(keys), st.sampled_from(REFUSED_VALUES)), min_size=1, max_size=3
    ).map(lambda pairs: "\n".join(f"{k}: {v}" for k, v in pairs))
    text = st.one_of(
        values(keys).map(lambda value: yaml.safe_dump(value, allow_unicode=True)),
        lines,
        st.sampled_from(REFUSED_VALUES + REFUSED_DOCUMENTS),
        st.text(max_size=40),
    )
    return st.one_of(
        text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        text.map(lambda t: t.encode("latin-1", "replace")),
        st.binary(max_size=40),
    )


def fuzzed(
    keys: list[str], *, shrink: bool = True
) -> Callable[[Callable[[bytes], None]], Callable[[], None]]:
    """A derandomized Hypothesis test of `EXAMPLES` documents near the format of `keys`."""
    phases = list(hypothesis.Phase) if shrink else [hypothesis.Phase.generate]

    def decorate(test: Callable[[bytes], None]) -> Callable[[], None]:
        settings = hypothesis.settings(
            max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=phases
        )
        return settings(hypothesis.given(documents(keys))(test))

    return decorate


@contextmanager
def written(content: bytes, name: str = "file.yaml") -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        yield path


@pytest.mark.parametrize("value", REFUSED_VALUES + REFUSED_DOCUMENTS)
def test_a_refused_value_is_a_yaml_error_or_a_plain_value(value: str) -> None:
    for document in (value, f"key: {value}", f"- [{value}]"):
        try:
            load_yaml(document)
        except yaml.YAMLError as error:
            assert str(error)


def test_values_pyyaml_raised_other_errors_on_are_unreadable_yaml() -> None:
    for value in ("2021-02-30", "!!timestamp 99", "9" * 5000, DEEP):
        with pytest.raises(UnreadableYaml):
            load_yaml(value)
    assert load_yaml("when: 2021-02-28") == {"when": date(2021, 2, 28)}


SERVE_KEYS = ["applications", "name", "import_path", "args", "route_prefix", "http_options"]
SETTINGS_KEYS = ["cores", "gateway", "data_dir", "auth", "router", "deep", "model", "port"]


@fuzzed(SERVE_KEYS + SETTINGS_KEYS)
def test_serve_config_files(content: bytes) -> None:
    with written(content) as path:
        try:
            read_serve(path)
        except ServeConfigError as error:
            assert str(path) in str(error)


@st.composite
def serve_args(draw: st.DrawFn) -> bytes:
    """A Serve config whose Twincore application's args are fuzzed (they become settings)."""
    args = draw(st.dictionaries(st.sampled_from(SETTINGS_KEYS), values(SETTINGS_KEYS), max_size=3))
    application = {"name": "t", "import_path": TWINCORE_IMPORT_PATH, "args": args}
    return yaml.safe_dump({"applications": [application]}).encode()


@hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@hypothesis.given(serve_args())
def test_serve_config_args(content: bytes) -> None:
    with written(content) as path, suppress(ServeConfigError):
        read_serve(path)


@fuzzed([*SETTINGS_KEYS, "log_level", "dev_mode", "swift", "threads", "policy"])
def test_settings_file(content: bytes) -> None:
    with written(content, "twincore.yaml") as path, pytest.MonkeyPatch.context() as env:
        env.setenv(CONFIG_FILE_ENV, str(path))
        for name in [n for n in os.environ if n.startswith("TWINCORE_") and n != CONFIG_FILE_ENV]:
            env.delenv(name)
        try:
            load_settings()
        except typer.Exit as refused:
            assert refused.exit_code == 2


POLICY_KEYS = ["rules", "default", "when", "core", "threshold", "labels", "stages", "domain"]


@fuzzed(POLICY_KEYS, shrink=False)  # the first crash is enough
def test_routing_policy_files(content: bytes) -> None:
    with written(content) as path:
        try:
            load_policy(path)
        except PolicyFileError as error:
            assert str(path) in str(error)


class Products:
    """The graph's product catalogue, all `read_file` asks the graph for."""

    backend = "fake"

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        assert "Product" in cypher
        return [{"id": "1", "name": "Chai"}, {"id": "2", "name": "Chang"}]


ISSUE_KEYS = ["version", "issues", "title", "product", "product_id", "severity", "solutions"]


@fuzzed([*ISSUE_KEYS, "text", "id", "symptoms", "Chai"])
def test_known_issue_files(content: bytes) -> None:
    with written(content) as path:
        try:
            read_issues(path, Products())  # type: ignore[arg-type]
        except KnowledgeError as error:
            assert error.problems


@fuzzed(ISSUE_KEYS)
def test_model_replies(content: bytes) -> None:
    reply = content.decode("utf-8", "replace")
    for text in (reply, f"Here it is:\n```yaml\n{reply}\n```"):
        try:
            reply_yaml(text)
        except ExtractionError as error:
            assert "not valid YAML" in str(error)


def test_a_reply_with_a_date_that_does_not_exist_is_refused_cleanly() -> None:
    """Found by fuzzing: PyYAML raised ValueError on `2021-02-30`, past the YAMLError catch."""
    with pytest.raises(ExtractionError, match="not valid YAML"):
        reply_yaml("```yaml\nissues:\n- title: broken since 2021-02-30\n  seen: 2021-02-30\n```")
