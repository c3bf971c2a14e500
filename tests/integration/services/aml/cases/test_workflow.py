"""Case workflow on a real database: validated transitions, an append-only audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.services.aml.cases import workflow
from twincore.services.aml.errors import CaseError
from twincore.services.aml.models import (
    AlertRecord,
    AmlDataset,
    AuditTrailError,
    CaseEvent,
    DetectionRun,
    Narrative,
)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def _alert(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        dataset = AmlDataset(
            name="cases-demo",
            source_format="canonical",
            label_level=None,
            n_accounts=0,
            n_transactions=0,
        )
        session.add(dataset)
        session.flush()
        run = DetectionRun(dataset_id=dataset.id, status="done", budget=10, stats={})
        session.add(run)
        session.flush()
        alert = AlertRecord(run_id=run.id, rank=1, account_key=0, score=0.9)
        session.add(alert)
        session.flush()
        return alert.id


def test_a_case_moves_only_along_allowed_transitions(sessions: sessionmaker[Session]) -> None:
    alert_id = _alert(sessions)
    with session_scope(sessions) as session:
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana").id
    with session_scope(sessions) as session, pytest.raises(CaseError, match="already has"):
        workflow.open_case(session, alert_id=alert_id, actor="ana")
    with session_scope(sessions) as session, pytest.raises(CaseError, match="not sar_filed"):
        workflow.change_status(session, case_id=case_id, to_status="sar_filed", actor="ana")
    with session_scope(sessions) as session, pytest.raises(CaseError, match="unknown"):
        workflow.change_status(session, case_id=case_id, to_status="done", actor="ana")
    with session_scope(sessions) as session:
        workflow.change_status(session, case_id=case_id, to_status="investigating", actor="ana")
    with session_scope(sessions) as session, pytest.raises(CaseError, match="narrative"):
        workflow.change_status(session, case_id=case_id, to_status="sar_filed", actor="ana")
    with session_scope(sessions) as session:
        assert workflow.get_case(session, case_id).status == "investigating"


def test_closing_needs_a_reason_and_everything_is_audited(
    sessions: sessionmaker[Session],
) -> None:
    alert_id = _alert(sessions)
    with session_scope(sessions) as session:
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana", assignee="ana").id
        workflow.assign(session, case_id=case_id, assignee="bo", actor="ana")
        workflow.add_note(session, case_id=case_id, text="called the branch", actor="bo")
    for reason in (None, "   "):
        with session_scope(sessions) as session, pytest.raises(CaseError, match="reason"):
            workflow.change_status(
                session, case_id=case_id, to_status="closed", actor="bo", reason=reason
            )
    with session_scope(sessions) as session:
        case = workflow.change_status(
            session, case_id=case_id, to_status="closed", actor="bo", reason="false positive"
        )
        assert (case.status, case.close_reason) == ("closed", "false positive")
    with session_scope(sessions) as session:
        events = workflow.case_events(session, case_id)
        assert [(e.kind, e.actor, e.from_status, e.to_status, e.detail) for e in events] == [
            ("opened", "ana", None, "open", "ana"),
            ("assigned", "ana", None, None, "bo"),
            ("note", "bo", None, None, "called the branch"),
            ("status", "bo", "open", "closed", "false positive"),
        ]


def test_the_audit_trail_cannot_be_rewritten(sessions: sessionmaker[Session]) -> None:
    alert_id = _alert(sessions)
    with session_scope(sessions) as session:
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana").id
    with session_scope(sessions) as session, pytest.raises(AuditTrailError):
        event = session.query(CaseEvent).filter_by(case_id=case_id).one()
        event.detail = "rewritten"
        session.flush()
    with session_scope(sessions) as session, pytest.raises(AuditTrailError):
        session.delete(session.query(CaseEvent).filter_by(case_id=case_id).one())
        session.flush()
    with session_scope(sessions) as session:
        assert session.query(CaseEvent).filter_by(case_id=case_id).one().detail is None


def test_a_sar_is_filed_once_a_narrative_exists(sessions: sessionmaker[Session]) -> None:
    alert_id = _alert(sessions)
    with session_scope(sessions) as session:
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana").id
        workflow.change_status(session, case_id=case_id, to_status="escalated", actor="ana")
        session.add(
            Narrative(
                case_id=case_id,
                version=1,
                source="edit",
                author="ana",
                text="WHO: ...",
                facts={},
                check={},
            )
        )
    with session_scope(sessions) as session:
        case = workflow.change_status(session, case_id=case_id, to_status="sar_filed", actor="lead")
        assert case.status == "sar_filed"
    with session_scope(sessions) as session, pytest.raises(CaseError, match="reopening"):
        workflow.change_status(
            session, case_id=case_id, to_status="closed", actor="lead", reason="filed"
        )
        workflow.change_status(session, case_id=case_id, to_status="investigating", actor="lead")
