"""The routing policy file: rules, scores, budgets, load limits and cascade settings, in YAML.

The packaged default (`data/policy.yaml`) encodes the seed's decision tree; operators point
`router.policy` at their own file. Everything is validated on load, and errors name the field.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twincore.platform.router.classifier import HEADS
from twincore.platform.router.escalation import Ladder
from twincore.platform.safe_yaml import read_yaml

CORES = ("deep", "swift")


class Budget(BaseModel):
    """Compute for one request; unset fields leave the value from the level below."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(None, ge=1)
    candidates: int | None = Field(None, ge=1, le=16)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    verify: bool | None = None


class Rule(BaseModel):
    """`when` matches labels (head: label or list of labels), `service` and prompt length;
    the first matching rule picks `core`, or `score` to let the deep score decide."""

    model_config = ConfigDict(extra="forbid")

    name: str
    when: dict[str, str | list[str] | int] = Field(default_factory=dict)
    core: Literal["deep", "swift", "score"] = "score"

    @field_validator("when")
    @classmethod
    def _known_conditions(
        cls, when: dict[str, str | list[str] | int]
    ) -> dict[str, str | list[str] | int]:
        for key, value in when.items():
            if key in ("prompt_tokens_over", "prompt_tokens_under"):
                if not isinstance(value, int):
                    raise ValueError(f"{key} takes a number of tokens")
                continue
            if key == "service":
                continue
            if key not in HEADS:
                known = ", ".join([*HEADS, "service", "prompt_tokens_over", "prompt_tokens_under"])
                raise ValueError(f"unknown condition {key!r}; known: {known}")
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or any(v not in HEADS[key] for v in values):
                raise ValueError(f"{key} takes labels from {HEADS[key]}, got {value!r}")
        return when


class Score(BaseModel):
    """deep score = bias + sum(weight * P(head = label)) + long-prompt bonus, clipped to [0, 1].
    A key may join labels of different heads with `&` (`domain.code&difficulty.high`): its
    weight multiplies the product of their probabilities."""

    model_config = ConfigDict(extra="forbid")

    bias: float = 0.0
    weights: dict[str, float] = Field(default_factory=dict)
    long_prompt_tokens: int = Field(1500, ge=1)
    long_prompt_weight: float = 0.0

    @field_validator("weights")
    @classmethod
    def _head_labels(cls, weights: dict[str, float]) -> dict[str, float]:
        for key in weights:
            for term in key.split("&"):
                head, _, label = term.partition(".")
                if label not in HEADS.get(head, ()):
                    raise ValueError(
                        f"score weight {key!r}: {term!r} is not 'head.label' of {dict(HEADS)}"
                    )
        return weights


class Budgets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: Budget = Field(
        default_factory=lambda: Budget(max_tokens=256, candidates=1, temperature=0.0, verify=False)
    )
    by_label: dict[str, Budget] = Field(
        default_factory=dict, description="'head.label' -> budget applied when that label wins"
    )


class Load(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_queue: int = Field(8, ge=0, description="waiting requests that make a core 'saturated'")
    prior_ms_per_token: dict[str, float] = Field(default_factory=dict)
    prior_ttft_ms: dict[str, float] = Field(default_factory=dict)


class Cascade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_mean_logprob: float = Field(
        -1.0, le=0.0, description="swift answers less confident than this escalate to deep"
    )


LadderStep = Literal["first", "more", "repair", "other"]
DEFAULT_LADDER: tuple[LadderStep, ...] = ("first", "repair", "other")


class EscalationConfig(BaseModel):
    """How services climb when their checker rejects an answer (see router/escalation.py)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(3, ge=1, le=8, description="attempts per answer, first included")
    max_tokens: int | None = Field(
        None, ge=1, description="completion tokens over all attempts of one answer"
    )
    ladders: dict[str, list[LadderStep]] = Field(
        default_factory=lambda: {"default": list(DEFAULT_LADDER)},
        description="rungs per service; `default` serves the others",
    )

    @field_validator("ladders")
    @classmethod
    def _starts_first(cls, ladders: dict[str, list[LadderStep]]) -> dict[str, list[LadderStep]]:
        for service, steps in ladders.items():
            if not steps or steps[0] != "first":
                raise ValueError(f"ladder {service!r} must start with 'first'")
        return ladders

    def ladder(self, service: str) -> Ladder:
        steps = self.ladders.get(service) or self.ladders.get("default") or ["first"]
        return Ladder(tuple(steps), self.max_attempts, self.max_tokens)


class PolicyConfig(BaseModel):
    """A whole routing policy file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    mode: Literal["direct", "cascade"] = "direct"
    deep_threshold: float = Field(0.5, ge=0.0, le=1.0)
    price: dict[str, float] = Field(
        default_factory=lambda: {"deep": 1.0, "swift": 0.1},
        description="relative price per 1000 tokens of each core",
    )
    cost_weight: float = Field(
        0.0, ge=0.0, description="how much deep's extra price raises the bar"
    )
    score: Score = Field(default_factory=Score)
    rules: list[Rule] = Field(default_factory=list)
    budgets: Budgets = Field(default_factory=Budgets)
    load: Load = Field(default_factory=Load)
    cascade: Cascade = Field(default_factory=Cascade)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    provenance: dict[str, object] = Field(
        default_factory=dict, description="how the numbers were fitted (`twincore router fit`)"
    )

    @field_validator("price")
    @classmethod
    def _price_per_core(cls, price: dict[str, float]) -> dict[str, float]:
        if set(price) != set(CORES) or any(p < 0 for p in price.values()):
            raise ValueError(f"price needs a non-negative value for each of {CORES}")
        return price


def packaged_policy() -> Path:
    """The default policy: fitted by `twincore router fit` on recorded answers (provenance)."""
    return Path(str(resources.files("twincore.platform.router") / "data" / "policy.yaml"))


def seed_policy() -> Path:
    """The hand-written policy the fit starts from (fixed numbers: tests of the mechanics)."""
    return Path(str(resources.files("twincore.platform.router") / "data" / "seed_policy.yaml"))


class PolicyFileError(ValueError):
    """The policy file is missing, not YAML, or fails validation (the message says where)."""


def load_policy(path: Path | None = None) -> PolicyConfig:
    path = path or packaged_policy()
    try:
        data = read_yaml(path)
    except OSError as error:
        raise PolicyFileError(f"cannot read routing policy {path}: {error}") from error
    except yaml.YAMLError as error:
        raise PolicyFileError(f"routing policy {path} is not valid YAML: {error}") from error
    try:
        return PolicyConfig.model_validate(data or {})
    except ValidationError as error:
        raise PolicyFileError(f"routing policy {path}: {error}") from error
