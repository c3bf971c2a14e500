"""The support service: answer a customer from the knowledge graph (by template, or by the core
writing guarded Cypher), record the exchange, escalate what stays unresolved; JSON-ready methods
for the routes and the app.

An empty embedded graph is loaded with Northwind on first use (it takes well under a second);
an empty Neo4j database is never written to unasked: the caller is told to run
`twincore support load northwind`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import TwincoreError
from twincore.platform.db.engine import create_db_engine, session_factory, session_scope
from twincore.platform.errors import Conflict, Unavailable
from twincore.platform.graph import (
    GraphError,
    GraphSchema,
    GraphStore,
    GraphUnavailable,
    open_graph_store,
)
from twincore.platform.router.escalation import Attempt, Escalation, Verdict, summarize
from twincore.platform.router.router import RouterClient
from twincore.platform.router.setup import service_ladder
from twincore.platform.router.types import AUTO
from twincore.platform.settings import Settings
from twincore.services.support import store as records
from twincore.services.support import views
from twincore.services.support.answer import Answer
from twincore.services.support.cypher.cascade import Question, answer_by_cascade_sync
from twincore.services.support.cypher.verify import unbound
from twincore.services.support.intents.detect import detect
from twincore.services.support.intents.linking import EntityLinker
from twincore.services.support.intents.mentions import MentionFinder
from twincore.services.support.intents.templates import answer_intent
from twincore.services.support.knowledge.reads import count
from twincore.services.support.knowledge.subgraph import cited_subgraph
from twincore.services.support.store import SupportRecordError

log = logging.getLogger(__name__)

SERVICE = "support"
# The router routes `auto` support requests as real-time dialogue (swift by default).
HINTS = {"domain": "support"}
LOAD_HINT = "run `twincore support load northwind` to load it"
MODELS = (AUTO, "swift", "deep")
TEMPLATE = "template"
"""The `core` of an answer a template intent gave: no model wrote its query."""


class GraphNotLoadedError(Conflict):
    """The knowledge graph holds no Northwind data yet."""


def support_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A chat model whose requests the router sees as the support service."""
    return TwincoreChatModel.for_service(router, SERVICE, HINTS, **fields)


@dataclass(frozen=True)
class LoadedGraph:
    """The graph with its schema and entity names read, ready for questions."""

    store: GraphStore
    schema: GraphSchema
    linker: EntityLinker
    mentions: MentionFinder


class SupportService:
    """One graph (opened on first use), one SQL database, the router for text-to-Cypher."""

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
        self._graph: LoadedGraph | None = None
        self._nodes_seen: int | None = None
        self._down: str | None = None
        """Why the graph was dropped (its server went away); None while it serves."""
        self._lock = threading.Lock()

    # the graph ------------------------------------------------------------------------------

    @contextmanager
    def _graph_unavailable(self) -> Iterator[None]:
        """A graph store that fails (down, refused the connection) becomes `Unavailable` (503).

        A store whose server went away is dropped, so the next use opens it again: for the
        embedded graph that starts a new daemon over the same file (it replays its log)."""
        try:
            yield
        except GraphUnavailable as error:
            self._drop_store(str(error))
            raise Unavailable(
                f"the knowledge graph is unavailable: {error}; retry shortly"
            ) from error
        except GraphError as error:
            raise Unavailable(f"the knowledge graph is unavailable: {error}") from error

    def _drop_store(self, reason: str) -> None:
        with self._lock:
            if not self._owns_store or self._store is None:
                return  # a store handed in is the caller's to restart
            log.warning(
                "support: the knowledge graph went away (%s); re-attaching on next use", reason
            )
            self._store.close()
            self._store, self._graph, self._nodes_seen = None, None, None
            self._down = reason

    def readiness(self) -> dict[str, Any]:
        """For `/readyz`: whether the knowledge graph answers. It does not open or re-attach
        the graph (the next request does); a graph not opened yet counts as ready."""
        with self._lock:
            store, down = self._store, self._down
        if store is None and down is None:
            return {"ok": True, "state": "ready"}
        try:
            if store is None:
                raise GraphUnavailable(str(down))
            store.query("RETURN 1")
        except GraphError as error:
            return {
                "ok": False,
                "state": "unavailable",
                "reason": f"the knowledge graph is unavailable: {error}",
                "fix": "the next support request re-attaches the graph",
            }
        return {"ok": True, "state": "ready", "graph": store.backend}

    def _ready(self) -> LoadedGraph:
        """The loaded graph; schema and names are re-read when the graph changed size."""
        with self._lock:
            if self._store is None:
                self._store = open_graph_store(self._settings)
                if self._down is not None:
                    log.warning("support: the knowledge graph is back (re-attached)")
                    self._down = None
            graph_store = self._store
            nodes = count(graph_store, "MATCH (n) RETURN count(n) AS c")
            if self._graph is None or nodes != self._nodes_seen:
                if count(graph_store, "MATCH (p:Product) RETURN count(p) AS c") == 0:
                    self._load_northwind(graph_store)
                    nodes = count(graph_store, "MATCH (n) RETURN count(n) AS c")
                # Issues loaded (or a reload) since the last question: new labels, new names.
                # Introspection samples every label: done once per change, not per question.
                self._graph = LoadedGraph(
                    graph_store,
                    graph_store.schema(),
                    EntityLinker(graph_store),
                    MentionFinder(graph_store),
                )
                self._nodes_seen = nodes
            return self._graph

    def _load_northwind(self, graph_store: GraphStore) -> None:
        if not self._autoload:
            raise GraphNotLoadedError(f"the knowledge graph holds no Northwind data: {LOAD_HINT}")
        from twincore.services.support.knowledge.northwind import load_northwind

        report = load_northwind(graph_store)
        log.info(
            "empty embedded graph: loaded Northwind (%d nodes) in %.2f s",
            sum(report.nodes.values()),
            report.seconds,
        )

    def schema(self) -> dict[str, Any]:
        """Labels with property types, relationship types with their endpoints."""
        with self._graph_unavailable():
            graph = self._ready()
        return {"backend": graph.store.backend, **graph.schema.to_json()}

    # questions -------------------------------------------------------------------------------

    def _answer(self, question: str, graph: LoadedGraph, model: str) -> Escalation[Answer]:
        """The grounded answer (not stored) and how it was reached.

        A template intent answers without a model when its query binds everything the
        question names; otherwise the core writes the query on the policy's escalation ladder
        (first, a repair turn with the checker's reasons, the other core).
        """
        mentions = graph.mentions.find(question)
        intent = detect(question, graph.linker.link(question))
        if intent is not None:
            started = time.perf_counter()
            answer = answer_intent(intent, graph.store, graph.schema)
            missing = unbound(mentions, answer.cypher or "", answer.params)
            if not missing:
                return _template_escalation(answer, (time.perf_counter() - started) * 1000)
            log.info(
                "template %s ignores %s: the core writes the query instead",
                intent.name.value,
                [m.value for m in missing],
            )
        ladder = service_ladder(self._settings, SERVICE)
        try:
            return answer_by_cascade_sync(
                Question(question, graph.store, graph.schema, mentions),
                self._model,
                ladder,
                requested=model,
            )
        except TwincoreError as exc:
            # A core that is down must not lose the question: it is escalated like any failure.
            log.warning("text2cypher core failed: %s", exc)
            reason = f"core failed: {exc.message}"
            answer = Answer(
                f"The language core is unavailable ({exc.message}); a person will follow up.",
                "text2cypher",
                False,
                error=reason,
            )
            return Escalation(answer, Verdict(False, (reason,)), model)

    def ask(
        self, question: str, conversation_id: int | None = None, model: str = AUTO
    ) -> dict[str, Any]:
        """Answer from the graph, record the exchange, escalate when unresolved.

        `model` is the core the user asked for: `auto` (the router picks, the ladder may climb
        to the other core) or `swift` / `deep` (every attempt on that core). The reply's
        `twincore` block lists every attempt with the checker's verdict.
        """
        question = question.strip()
        if not question:
            raise SupportRecordError("the question is empty")
        if model not in MODELS:
            raise SupportRecordError(f"model must be one of {list(MODELS)}, not {model!r}")
        if conversation_id is not None:
            self.conversation(conversation_id)  # 404 before any work
        with self._graph_unavailable():
            graph = self._ready()
            escalation = self._answer(question, graph, model)
            answer = escalation.answer
            subgraph = cited_subgraph(graph.store, graph.schema, answer.citations)
        twincore = escalation.as_dict()
        log.info("support answer: %s", _summary(escalation))
        wrote = bool(escalation.attempts) and escalation.core != TEMPLATE
        # A template's verdict only says rows came back; the checker judged a written query.
        verified = wrote and escalation.verdict.passed and answer.resolved
        with session_scope(self._sessions) as session:
            conv, ticket = records.record_exchange(
                session,
                question=question,
                answer=answer,
                verified=verified,
                conversation_id=conversation_id,
            )
            return views.reply(
                answer,
                conversation_id=conv.id,
                status=conv.status,
                verified=verified,
                core=escalation.core if wrote else None,
                opened=ticket,
                subgraph=subgraph,
                twincore=twincore,
            )

    # conversations and tickets ---------------------------------------------------------------

    def conversations(self, limit: int = 50) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            rows = records.list_conversations(session, limit=limit)
            return [views.conversation_summary(row) for row in rows]

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            row = records.get_conversation(session, conversation_id=conversation_id)
            tickets = records.conversation_tickets(session, conversation_id=conversation_id)
            return views.conversation(row, tickets)

    def not_solved(self, conversation_id: int) -> dict[str, Any]:
        """The user says the answer did not help: a ticket with the transcript."""
        with session_scope(self._sessions) as session:
            return views.ticket(records.mark_not_solved(session, conversation_id=conversation_id))

    def solved(self, conversation_id: int) -> dict[str, Any]:
        """The user confirms the answer solved it: the conversation counts as resolved."""
        with session_scope(self._sessions) as session:
            row = records.mark_solved(session, conversation_id=conversation_id)
            tickets = records.conversation_tickets(session, conversation_id=conversation_id)
            return views.conversation(row, tickets)

    def tickets(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            return [
                views.ticket(t) for t in records.list_tickets(session, status=status, limit=limit)
            ]

    def set_ticket_status(self, ticket_id: int, status: str) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            ticket = records.set_ticket_status(session, ticket_id=ticket_id, status=status)
            return views.ticket(ticket)

    def stats(self) -> dict[str, Any]:
        """Resolution rate = resolved conversations (checker-verified or confirmed by the user)
        / all, with the counts behind it."""
        with session_scope(self._sessions) as session:
            return records.stats(session)

    def close(self) -> None:
        """Stop the embedded graph this object opened (a store handed in stays open)."""
        with self._lock:
            if self._owns_store and self._store is not None:
                self._store.close()
                self._store = None
            self._graph = None
            self._nodes_seen = None
        self._engine.dispose()


def _template_escalation(answer: Answer, ms: float) -> Escalation[Answer]:
    """A template's answer as a one-attempt escalation: its verdict is whether rows came back."""
    if answer.resolved:
        rows = f"{len(answer.rows)} row" + ("" if len(answer.rows) == 1 else "s")
        verdict = Verdict(True, (f"The {answer.intent} template returned {rows}.",))
    else:
        verdict = Verdict(False, (answer.error or answer.text,))
    outcome: Literal["pass", "fail"] = "pass" if verdict.passed else "fail"
    attempt = Attempt("first", TEMPLATE, outcome, verdict.reasons, 1, 0, ms)
    return Escalation(answer, verdict, TEMPLATE, [attempt])


def _summary(escalation: Escalation[Answer]) -> str:
    reasons = "" if escalation.verdict.passed else f" ({'; '.join(escalation.verdict.reasons)})"
    return (summarize(escalation.attempts) or "no attempt") + reasons
