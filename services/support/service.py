"""The support facade: link entities, answer by template or by the core, record and escalate."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.db.engine import session_scope
from twincore.platform.graph.store import GraphSchema, GraphStore
from twincore.services.support.answer import Answer
from twincore.services.support.conversations import record_exchange
from twincore.services.support.intents import detect
from twincore.services.support.linking import EntityLinker
from twincore.services.support.templates import answer_intent
from twincore.services.support.text2cypher import ask_core

log = logging.getLogger(__name__)


@dataclass
class SupportReply:
    """What one question produced, with the ids the caller needs to continue or follow up."""

    answer: Answer
    conversation_id: int
    ticket_id: int | None
    core: str | None


class SupportService:
    """One graph, one SQL database, and optionally a chat model for text-to-Cypher."""

    def __init__(
        self,
        store: GraphStore,
        sessions: sessionmaker[Session],
        model: BaseChatModel | None = None,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.model = model
        self.linker = EntityLinker(store)
        self._schema: GraphSchema | None = None

    @property
    def schema(self) -> GraphSchema:
        # Introspection samples every label: done once, not per question.
        if self._schema is None:
            self._schema = self.store.schema()
        return self._schema

    def refresh(self) -> None:
        """Forget the cached schema and names (after the graph was reloaded or extended)."""
        self._schema = None
        self.linker.refresh()

    def answer(self, question: str) -> tuple[Answer, str | None]:
        """The grounded answer (not stored) and the core that wrote the query, if one did."""
        intent = detect(question, self.linker.link(question))
        if intent is not None:
            return answer_intent(intent, self.store, self.schema), None
        if self.model is None:
            return (
                Answer(
                    "This question needs the language core, which is not configured.",
                    "text2cypher",
                    False,
                    error="no chat model configured",
                ),
                None,
            )
        try:
            result = ask_core(question, self.model, self.store, self.schema)
        except TwincoreError as exc:
            # A core that is down must not lose the question: it is escalated like any failure.
            log.warning("text2cypher core failed: %s", exc)
            return (
                Answer(
                    f"The language core is unavailable ({exc.message}); a person will follow up.",
                    "text2cypher",
                    False,
                    error=f"core failed: {exc.message}",
                ),
                None,
            )
        return result.answer, result.core

    def ask(self, question: str, conversation_id: int | None = None) -> SupportReply:
        """Answer, then store the exchange (and a ticket when unresolved) in one transaction."""
        answer, core = self.answer(question)
        with session_scope(self.sessions) as session:
            conv, ticket = record_exchange(session, question, answer, conversation_id)
            session.flush()
            return SupportReply(answer, conv.id, ticket.id if ticket else None, core)
