"""The support facade in-process over SQLite and the shared Northwind graph: each exchange is
recorded, an unresolved one escalates to a ticket with the transcript, and a core that is down
escalates instead of failing."""

from __future__ import annotations

from collections.abc import Callable

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.support.knowledge.northwind import LoadReport
from twincore.services.support.service import SupportService


def test_service_records_and_escalates(
    make_settings: Callable[..., Settings], northwind: tuple[FalkorDBStore, LoadReport]
) -> None:
    settings = make_settings()
    # A core nobody answers at: templates need no model, a free-form question must escalate.
    unreachable = OpenAIBackend(
        "swift", base_url="http://127.0.0.1:9/v1", model="swift", max_retries=0
    )
    router = build_router({"swift": CoreServer.from_backend(unreachable)}, settings)
    service = SupportService(router, settings, store=northwind[0])
    try:
        ok = service.ask("status of order 10248")
        assert ok["resolved"] and ok["ticket"] is None
        assert ok["status"] == "answered" and not ok["verified"]  # a template checks nothing
        miss = service.ask("and order 99999?", ok["conversation_id"])
        assert miss["conversation_id"] == ok["conversation_id"]
        assert miss["ticket"]["reason"] == "empty_result"
        assert "user: status of order 10248" in miss["ticket"]["transcript"]
        free = service.ask("which country has the most customers?")
        assert not free["resolved"] and free["ticket"]["reason"] == "no_valid_query"
        assert service.stats()["resolution_rate"] == 0.0
    finally:
        service.close()
