"""Case workflow on a real database: validated transitions, an append-only audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
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
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana")[0].id
    with session_scope(sessions) as session:
        again, opened = workflow.open_case(session, alert_id=alert_id, actor="bo")
        assert (again.id, opened) == (case_id, False)
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
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana", assignee="ana")[0].id
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
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana")[0].id
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
        case_id = workflow.open_case(session, alert_id=alert_id, actor="ana")[0].id
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


def test_an_account_has_one_active_case_across_its_alerts(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        dataset = AmlDataset(
            name="one-case", source_format="canonical", label_level=None, n_accounts=0,
            n_transactions=0,
        )  # fmt: skip
        session.add(dataset)
        session.flush()
        runs = [
            DetectionRun(dataset_id=dataset.id, status="done", budget=10, stats={})
            for _ in range(2)
        ]
        session.add_all(runs)
        session.flush()
        # Account 5 raised twice (different patterns, different runs), account 6 once.
        alerts = [
            AlertRecord(run_id=runs[0].id, rank=1, account_key=5, score=0.9, patterns=["fan_in"]),
            AlertRecord(run_id=runs[1].id, rank=1, account_key=5, score=0.8, patterns=["stack"]),
            AlertRecord(run_id=runs[1].id, rank=2, account_key=6, score=0.7, patterns=["stack"]),
        ]
        session.add_all(alerts)
        session.flush()
        first, second, other = (a.id for a in alerts)
    with session_scope(sessions) as session:
        case, opened = workflow.open_case(session, alert_id=first, actor="ana")
        assert opened
        case_id = case.id
    with session_scope(sessions) as session:
        same, opened = workflow.open_case(session, alert_id=second, actor="bo")
        assert (same.id, opened) == (case_id, False)
        assert workflow.open_case(session, alert_id=other, actor="bo")[1]
    with session_scope(sessions) as session:
        workflow.change_status(
            session, case_id=case_id, to_status="closed", actor="ana", reason="cleared"
        )
    with session_scope(sessions) as session:
        # A closed case no longer blocks: the account's next alert gets its own case.
        fresh, opened = workflow.open_case(session, alert_id=second, actor="bo")
        assert opened and fresh.id != case_id
        events = session.scalars(select(CaseEvent).where(CaseEvent.kind == "opened")).all()
        assert len(events) == 3
