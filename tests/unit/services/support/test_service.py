"""The support facade's failures are the platform's errors, with the statuses the gateway sends:
a graph store that is down (503), a graph with no Northwind data (409), an empty question
(422), an unknown conversation or ticket (404). Graph stand-ins, no core is ever asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from twincore.platform.db.migrate import upgrade
from twincore.platform.errors import Conflict, Invalid, NotFound, Unavailable, describe
from twincore.platform.graph.store import GraphError, GraphSchema, GraphStore
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support.service import SupportService


class DownStore:
    """A graph store whose server does not answer."""

    backend = "neo4j"

    def query(
        self, cypher: str, params: dict[str, Any] | None = None, *, read_only: bool = True
    ) -> list[dict[str, Any]]:
        raise GraphError("connection refused")

    def schema(self) -> GraphSchema:
        raise GraphError("connection refused")

    def clear(self) -> None: ...

    def close(self) -> None: ...


class EmptyStore(DownStore):
    """A graph store that answers and holds nothing."""

    def query(
        self, cypher: str, params: dict[str, Any] | None = None, *, read_only: bool = True
    ) -> list[dict[str, Any]]:
        return [{"c": 0}]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    upgrade(database_url)
    return Settings(data_dir=tmp_path / "var", database_url=database_url)


@contextmanager
def _service(settings: Settings, store: DownStore) -> Iterator[SupportService]:
    # No question here reaches the core: the router is never called.
    service = SupportService(
        cast(RouterClient, object()), settings, store=cast(GraphStore, store), autoload=False
    )
    try:
        yield service
    finally:
        service.close()


def test_a_graph_store_that_is_down_is_unavailable(settings: Settings) -> None:
    with _service(settings, DownStore()) as service:
        with pytest.raises(Unavailable) as raised:
            service.ask("Where is order 10248?")
        status, kind, message, _, _ = describe(raised.value)
        assert (status, kind) == (503, "service_unavailable")
        assert message == "the knowledge graph is unavailable: connection refused"
        with pytest.raises(Unavailable):
            service.schema()
        assert service.conversations() == []  # the SQL side still answers


def test_an_empty_graph_is_a_conflict_that_says_how_to_load_it(settings: Settings) -> None:
    with _service(settings, EmptyStore()) as service:
        with pytest.raises(Conflict, match="twincore support load northwind") as raised:
            service.ask("Where is order 10248?")
        assert describe(raised.value)[0] == 409


def test_bad_requests_are_invalid_or_not_found(settings: Settings) -> None:
    with _service(settings, DownStore()) as service:
        with pytest.raises(Invalid, match="empty") as empty:
            service.ask("   ")
        assert describe(empty.value)[0] == 422
        with pytest.raises(NotFound, match="conversation 999") as missing:
            service.ask("Where is order 10248?", conversation_id=999)
        assert describe(missing.value)[0] == 404
        with pytest.raises(NotFound, match="conversation 999"):
            service.not_solved(999)
        with pytest.raises(NotFound, match="ticket 999"):
            service.set_ticket_status(999, "closed")
        with pytest.raises(Invalid, match="status must be one of"):
            service.set_ticket_status(1, "lost")
