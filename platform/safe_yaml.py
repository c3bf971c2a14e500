"""YAML that people and models hand the platform (policy files, Serve configs, known issues,
model replies), read so that every bad document raises `yaml.YAMLError`.

Callers catch `yaml.YAMLError` to answer with a clear message, but PyYAML's safe loader raises
other exceptions on some documents (found by fuzzing the parsers): a date that does not exist
(`2021-02-30`) or an out-of-range UTC offset raises ValueError, `!!int 0x` and an integer of
more than 4,300 digits ValueError, `!!timestamp 99` AttributeError, a thousand nested
brackets RecursionError, and `Path.read_text` raises UnicodeDecodeError on bytes that are not
UTF-8. Here each of them becomes an `UnreadableYaml`, a `yaml.YAMLError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class UnreadableYaml(yaml.YAMLError):
    """A document PyYAML's safe loader failed on outside its own error class."""


def load_yaml(document: str | bytes) -> Any:
    """`yaml.safe_load(document)`; a bytes document may be UTF-8 or UTF-16 (with its BOM)."""
    try:
        return yaml.safe_load(document)
    except yaml.YAMLError:
        raise
    except RecursionError as error:
        raise UnreadableYaml("the document is nested too deeply") from error
    # The safe loader only parses and builds plain values: anything else it raises is the
    # document's fault (a value its constructors refuse), never the caller's.
    except Exception as error:
        raise UnreadableYaml(f"a value cannot be read: {error}") from error


def read_yaml(path: Path) -> Any:
    """The YAML file at `path` (OSError when it cannot be read; bytes that are not UTF-8 or
    UTF-16 are a `yaml.YAMLError` that names the position)."""
    return load_yaml(path.read_bytes())
