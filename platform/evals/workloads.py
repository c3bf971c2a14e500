"""The router evaluation's work: each service's own requests, checked by its own engines.

A service declares a `Workload` (its component's `workload`, default `<package>.workload:
WORKLOAD`): the items it can answer, and how to answer one on a pinned core with one attempt.
Each answer is judged twice: `verified` is what the service's checker says at run time (what
escalation acts on), `passed` is the ground truth of the item (a gold answer, execution match,
hidden tests), which is what quality counts. Items are split by a hash of their id into a
`calibration` half (the policy is fitted on it) and a `report` half (the table is read on it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings

Split = Literal["calibration", "report"]
SPLITS: tuple[Split, ...] = ("calibration", "report")


@dataclass(frozen=True)
class WorkItem:
    """One request a service answers, as the router and the service's workload see it."""

    id: str
    """`<service>/<stable key>`; the split is a hash of it."""
    service: str
    text: str
    """The user's request as the router's classifier reads it."""
    payload: Mapping[str, Any] = field(default_factory=dict)
    """What the workload needs to answer and judge it (gold answer, tests, case facts)."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """The routing labels the service passes with its requests."""
    group: str = ""
    """For reporting (e.g. a style, a question type); the router never sees it."""


@dataclass(frozen=True)
class ItemResult:
    """One pinned-core, single-attempt answer to a work item."""

    passed: bool
    verified: bool
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


class Answerer(Protocol):
    async def __call__(self, item: WorkItem, core: str) -> ItemResult: ...


class Workload(Protocol):
    """A service's router-evaluation work."""

    service: str

    def items(self, limit: int | None = None) -> list[WorkItem]:
        """Up to `limit` items (all when None), in a fixed order."""
        ...

    def open(
        self, router: RouterClient, settings: Settings
    ) -> AbstractAsyncContextManager[Answerer]:
        """The service built over `router` (its stores set up), answering items one attempt
        each on the core it is given."""
        ...


def split_of(item_id: str) -> Split:
    """The item's half: fixed by its id, so a fitted policy never sees a report item."""
    digest = hashlib.sha256(item_id.encode()).digest()
    return SPLITS[digest[0] & 1]


def single_attempt_policy(settings: Settings, folder: Any) -> Settings:
    """`settings` with the routing policy's ladders cut to their first rung, so one workload
    answer is one model call on the pinned core (escalation is simulated from the records)."""
    import yaml

    from twincore.platform.router.rules import load_policy

    config = load_policy(settings.router.policy)
    data = config.model_dump(mode="json")
    data["escalation"]["ladders"] = {"default": ["first"]}
    path = folder / "single-attempt-policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    router = settings.router.model_copy(update={"policy": path})
    return settings.model_copy(update={"router": router})
