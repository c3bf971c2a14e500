"""Case workflow: open a case from an alert, move it through validated statuses, audit every step.

Statuses follow an AML operations desk: a case is `open` when an alert is accepted for review,
`investigating` while an analyst works it, `escalated` to a senior reviewer, `sar_filed` once a
suspicious activity report went out, and `closed` with a reason. Every change appends a
`CaseEvent`; nothing rewrites one.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twincore.platform.db.base import utcnow
from twincore.services.aml.errors import CaseError
from twincore.services.aml.models import AlertRecord, Case, CaseEvent, DetectionRun, Narrative
from twincore.services.aml.store import get_row

STATUSES = ("open", "investigating", "escalated", "sar_filed", "closed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"investigating", "escalated", "closed"}),
    "investigating": frozenset({"escalated", "sar_filed", "closed"}),
    "escalated": frozenset({"investigating", "sar_filed", "closed"}),
    "sar_filed": frozenset({"closed"}),
    # Reopening is an investigation again, and is audited like any other move.
    "closed": frozenset({"investigating"}),
}


def open_case(
    session: Session, *, alert_id: int, actor: str, assignee: str | None = None
) -> tuple[Case, bool]:
    """The case to work an alert in, and whether it was opened now.

    One case per alert, and one active (not closed) case per account: when the alert already
    has a case, or its account has an active case from another alert (another run's or another
    pattern's), that case is returned and nothing is written. A new case is opened and audited
    otherwise."""
    alert = get_row(session, AlertRecord, alert_id, "alert")
    existing = session.scalar(select(Case).where(Case.alert_id == alert_id))
    if existing is None:
        existing = active_case_of_account(session, alert)
    if existing is not None:
        return existing, False
    case = Case(alert_id=alert_id, status="open", assignee=_clean(assignee))
    session.add(case)
    session.flush()
    _audit(session, case, actor=actor, kind="opened", to_status="open", detail=case.assignee)
    return case, True


def active_case_of_account(session: Session, alert: AlertRecord) -> Case | None:
    """The account's case that is not closed, from any alert on the same dataset."""
    dataset_id = alert.dataset_id
    if dataset_id is None:  # a row from before alerts knew their dataset
        dataset_id = session.get_one(DetectionRun, alert.run_id).dataset_id
    runs = select(DetectionRun.id).where(DetectionRun.dataset_id == dataset_id)
    query = (
        select(Case)
        .join(AlertRecord, AlertRecord.id == Case.alert_id)
        .where(
            AlertRecord.run_id.in_(runs),
            AlertRecord.account_key == alert.account_key,
            Case.status != "closed",
        )
        .order_by(Case.id)
    )
    return session.scalars(query).first()


def get_case(session: Session, case_id: int) -> Case:
    return get_row(session, Case, case_id, "case")


def change_status(
    session: Session, *, case_id: int, to_status: str, actor: str, reason: str | None = None
) -> Case:
    """Move a case to `to_status`; closing and reopening need a reason, filing needs a SAR text."""
    case = get_case(session, case_id)
    if to_status not in STATUSES:
        raise CaseError(f"unknown status {to_status!r}; one of {', '.join(STATUSES)}")
    if to_status not in TRANSITIONS[case.status]:
        allowed = ", ".join(sorted(TRANSITIONS[case.status]))
        raise CaseError(f"a case that is {case.status} can move to {allowed}, not {to_status}")
    reason = _clean(reason)
    if to_status == "closed" and not reason:
        raise CaseError("closing a case needs a reason")
    if case.status == "closed" and not reason:
        raise CaseError("reopening a case needs a reason")
    if to_status == "sar_filed" and not _has_narrative(session, case.id):
        raise CaseError("a SAR can be filed only once the case has a narrative")
    _audit(
        session,
        case,
        actor=actor,
        kind="status",
        from_status=case.status,
        to_status=to_status,
        detail=reason,
    )
    case.status = to_status
    case.close_reason = reason if to_status == "closed" else None
    case.updated_at = utcnow()
    session.flush()
    return case


def assign(session: Session, *, case_id: int, assignee: str, actor: str) -> Case:
    case = get_case(session, case_id)
    name = _clean(assignee)
    if not name:
        raise CaseError("an assignee needs a name")
    _audit(session, case, actor=actor, kind="assigned", detail=name)
    case.assignee = name
    case.updated_at = utcnow()
    session.flush()
    return case


def add_note(session: Session, *, case_id: int, text: str, actor: str) -> CaseEvent:
    case = get_case(session, case_id)
    note = _clean(text)
    if not note:
        raise CaseError("a note needs text")
    case.updated_at = utcnow()
    return _audit(session, case, actor=actor, kind="note", detail=note)


def case_events(session: Session, case_id: int) -> list[CaseEvent]:
    get_case(session, case_id)
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list(session.scalars(query))


def audit(
    session: Session, *, case_id: int, actor: str, kind: str, detail: str | None = None
) -> CaseEvent:
    """Append an event for work done elsewhere (a narrative drafted or edited)."""
    return _audit(session, get_case(session, case_id), actor=actor, kind=kind, detail=detail)


def _audit(
    session: Session,
    case: Case,
    *,
    actor: str,
    kind: str,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str | None = None,
) -> CaseEvent:
    name = _clean(actor)
    if not name:
        raise CaseError("every case action needs an actor")
    entry = CaseEvent(
        case_id=case.id,
        actor=name,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
    )
    session.add(entry)
    session.flush()
    return entry


def _has_narrative(session: Session, case_id: int) -> bool:
    count = session.scalar(select(func.count()).where(Narrative.case_id == case_id))
    return bool(count)


def _clean(text: str | None) -> str | None:
    return text.strip() or None if text else None
