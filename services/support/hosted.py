"""The support service as the gateway holds it: graph and SQL opened from settings, JSON-ready
methods for the routes and the app.

An empty embedded graph is loaded with Northwind on first use (it takes well under a second);
an empty Neo4j database is never written to unasked: the caller is told to run
`twincore support load northwind`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import func, select

from twincore.platform.db.engine import create_db_engine, session_factory, session_scope
from twincore.platform.graph import GraphStore, open_graph_store
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support import views
from twincore.services.support.conversations import (
    SupportRecordError,
    mark_not_solved,
    resolution_rate,
    set_ticket_status,
)
from twincore.services.support.graph_read import count
from twincore.services.support.models import SupportConversation, SupportTicket
from twincore.services.support.service import SupportService
from twincore.services.support.subgraph import cited_subgraph
from twincore.services.support.support_model import support_chat_model

log = logging.getLogger(__name__)

LOAD_HINT = "run `twincore support load northwind` to load it"


class GraphNotLoadedError(RuntimeError):
    """The knowledge graph holds no Northwind data yet."""


class NotFoundError(SupportRecordError):
    """A conversation or ticket id that does not exist."""


class HostedSupport:
    """One graph (opened on first use), one database, the router for text-to-Cypher."""

    def __init__(
        self,
        router: RouterClient,
        settings: Settings,
        *,
        store: GraphStore | None = None,
        autoload: bool | None = None,
    ) -> None:
        self._settings = settings
        self._engine = create_db_engine(settings.database_url)
        self._sessions = session_factory(self._engine)
        self._model = support_chat_model(router)
        self._store = store
        self._owns_store = store is None
        # Writing Northwind into somebody's Neo4j unasked would be rude; the embedded file is ours.
        self._autoload = settings.graph.backend == "embedded" if autoload is None else autoload
        self._service: SupportService | None = None
        self._nodes_seen: int | None = None
        self._lock = threading.Lock()

    # the graph ------------------------------------------------------------------------------

    def _ready(self) -> SupportService:
        """The facade over a loaded graph; re-reads the schema when the graph changed size."""
        with self._lock:
            if self._store is None:
                self._store = open_graph_store(self._settings)
            store = self._store
            if self._service is None:
                self._service = SupportService(store, self._sessions, self._model)
            nodes = count(store, "MATCH (n) RETURN count(n) AS c")
            if nodes != self._nodes_seen:
                if count(store, "MATCH (p:Product) RETURN count(p) AS c") == 0:
                    self._load_northwind(store)
                    nodes = count(store, "MATCH (n) RETURN count(n) AS c")
                # Issues loaded (or a reload) since the last question: new labels, new names.
                self._service.refresh()
                self._nodes_seen = nodes
            return self._service

    def _load_northwind(self, store: GraphStore) -> None:
        if not self._autoload:
            raise GraphNotLoadedError(f"the knowledge graph holds no Northwind data: {LOAD_HINT}")
        from twincore.services.support.northwind import load_northwind

        report = load_northwind(store)
        log.info(
            "empty embedded graph: loaded Northwind (%d nodes) in %.2f s",
            sum(report.nodes.values()),
            report.seconds,
        )

    def schema(self) -> dict[str, Any]:
        service = self._ready()
        return {"backend": service.store.backend, **service.schema.to_json()}

    # questions -------------------------------------------------------------------------------

    def ask(self, question: str, conversation_id: int | None = None) -> dict[str, Any]:
        """Answer from the graph, record the exchange, escalate when unresolved."""
        if not question.strip():
            raise SupportRecordError("the question is empty")
        if conversation_id is not None:
            self.conversation(conversation_id)  # 404 before any work
        service = self._ready()
        result = service.ask(question.strip(), conversation_id)
        subgraph = cited_subgraph(service.store, service.schema, result.answer.citations)
        with session_scope(self._sessions) as session:
            opened = session.get(SupportTicket, result.ticket_id) if result.ticket_id else None
            return views.reply(result, opened, subgraph)

    # conversations and tickets ---------------------------------------------------------------

    def conversations(self, limit: int = 50) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            rows = session.scalars(
                select(SupportConversation).order_by(SupportConversation.id.desc()).limit(limit)
            )
            return [views.conversation_summary(r) for r in rows]

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            row = session.get(SupportConversation, conversation_id)
            if row is None:
                raise NotFoundError(f"conversation {conversation_id} does not exist")
            tickets = session.scalars(
                select(SupportTicket)
                .where(SupportTicket.conversation_id == conversation_id)
                .order_by(SupportTicket.id)
            )
            return views.conversation(row, list(tickets))

    def not_solved(self, conversation_id: int) -> dict[str, Any]:
        """The user says the answer did not help: a ticket with the transcript."""
        with session_scope(self._sessions) as session:
            if session.get(SupportConversation, conversation_id) is None:
                raise NotFoundError(f"conversation {conversation_id} does not exist")
            return views.ticket(mark_not_solved(session, conversation_id))

    def tickets(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            query = select(SupportTicket).order_by(SupportTicket.id.desc()).limit(limit)
            if status is not None:
                query = query.where(SupportTicket.status == status)
            return [views.ticket(t) for t in session.scalars(query)]

    def set_ticket_status(self, ticket_id: int, status: str) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            if session.get(SupportTicket, ticket_id) is None:
                raise NotFoundError(f"ticket {ticket_id} does not exist")
            return views.ticket(set_ticket_status(session, ticket_id, status))

    def stats(self) -> dict[str, Any]:
        """Resolution rate = resolved conversations / all, with the counts behind it."""
        with session_scope(self._sessions) as session:
            by_status = dict(
                session.execute(
                    select(SupportConversation.status, func.count()).group_by(
                        SupportConversation.status
                    )
                ).all()
            )
            tickets = dict(
                session.execute(
                    select(SupportTicket.status, func.count()).group_by(SupportTicket.status)
                ).all()
            )
            return {
                "conversations": sum(by_status.values()),
                "resolved": by_status.get("resolved", 0),
                "resolution_rate": resolution_rate(session),
                "tickets": {"total": sum(tickets.values()), **tickets},
            }

    def close(self) -> None:
        """Stop the embedded graph this object opened (a store handed in stays open)."""
        with self._lock:
            if self._owns_store and self._store is not None:
                self._store.close()
                self._store = None
                self._service = None
        self._engine.dispose()
