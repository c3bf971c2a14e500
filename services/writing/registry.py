"""The style registry: one YAML file per style under `styles/`, loaded into typed dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from twincore.platform.errors import NotFound

STYLES_DIR = Path(__file__).parent / "styles"


@dataclass(frozen=True)
class Constraint:
    """One machine-checkable rule: `kind` names the checker, `params` are its arguments."""

    kind: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Style:
    """A writing style: its names, language, model instructions, exemplars and constraints."""

    id: str
    name_en: str
    name_zh: str
    language: str
    description: str
    instructions: str
    exemplars: tuple[str, ...]
    constraints: tuple[Constraint, ...]

    @property
    def display_name(self) -> str:
        """The name in the style's own language: `Limerick`; `五言绝句 (Five-character
        quatrain)` (a Chinese style keeps an English gloss for readers of the English screen)."""
        return self.name_en if self.language == "en" else f"{self.name_zh} ({self.name_en})"


def _parse(raw: dict[str, Any], source: Path) -> Style:
    try:
        constraints = tuple(
            Constraint(
                kind=c["kind"], description=c["description"], params=dict(c.get("params") or {})
            )
            for c in raw["constraints"]
        )
        style = Style(
            id=str(raw["id"]),
            name_en=str(raw["name"]["en"]),
            name_zh=str(raw["name"]["zh"]),
            language=str(raw["language"]),
            description=str(raw["description"]).strip(),
            instructions=str(raw["instructions"]).strip(),
            exemplars=tuple(str(e).strip() for e in raw["exemplars"]),
            constraints=constraints,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"style file {source.name} is malformed: {exc}") from exc
    if not 3 <= len(style.exemplars) <= 5:
        raise ValueError(f"style {style.id} needs 3-5 exemplars, has {len(style.exemplars)}")
    return style


@lru_cache(maxsize=1)
def load_styles() -> dict[str, Style]:
    """Every shipped style keyed by id, in file-name order."""
    styles: dict[str, Style] = {}
    for path in sorted(STYLES_DIR.glob("*.yaml")):
        style = _parse(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        if style.id in styles:
            raise ValueError(f"duplicate style id {style.id}")
        styles[style.id] = style
    return styles


def get_style(style_id: str) -> Style:
    """The style with this id; `NotFound` naming the known ids when there is none."""
    styles = load_styles()
    if style_id not in styles:
        raise NotFound(f"unknown style {style_id!r}; known: {', '.join(styles)}", param="style")
    return styles[style_id]
