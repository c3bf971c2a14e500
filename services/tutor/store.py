"""Reading and writing the tutor's tables; each write is one transaction.

The tree's rows are synchronised from the data file by `sync_tree` (an upsert, safe to run on
every start). Rows of a skill later removed from the file stay, since attempts and mastery may
refer to it; its prerequisite edges are replaced by the file's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.db.engine import session_scope
from twincore.platform.errors import Invalid, NotFound
from twincore.services.tutor.curriculum.knowledge import KnowledgeTree
from twincore.services.tutor.curriculum.mastery import bkt_update
from twincore.services.tutor.models import (
    TutorAttempt,
    TutorMastery,
    TutorPrerequisite,
    TutorSession,
    TutorSkill,
    TutorSubject,
    TutorTopic,
)

STUDENT = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def check_student(student: str) -> str:
    """The student id, or `Invalid` saying what an id may contain."""
    if not isinstance(student, str) or not STUDENT.fullmatch(student):
        raise Invalid(
            f"student {student!r}: use 1-64 letters, digits or . _ @ - (no spaces)",
            param="student",
        )
    return student


def _write_tree(session: Session, tree: KnowledgeTree) -> None:
    for position, subject in enumerate(tree.subjects.values()):
        session.merge(TutorSubject(id=subject.id, name=subject.name, position=position))
    for position, topic in enumerate(tree.topics.values()):
        session.merge(
            TutorTopic(id=topic.id, subject_id=topic.subject, name=topic.name, position=position)
        )
    for position, skill in enumerate(tree.skills.values()):
        session.merge(
            TutorSkill(
                id=skill.id,
                topic_id=skill.topic,
                name=skill.name,
                kind=skill.kind,
                position=position,
            )
        )
    session.flush()
    session.execute(delete(TutorPrerequisite))
    session.add_all(
        TutorPrerequisite(skill_id=skill.id, requires_id=required)
        for skill in tree.skills.values()
        for required in skill.requires
    )


def sync_tree(sessions: sessionmaker[Session], tree: KnowledgeTree) -> None:
    """Write the tree's subjects, topics, skills and edges (idempotent, one transaction)."""
    for attempt in range(2):
        try:
            with session_scope(sessions) as session:
                _write_tree(session, tree)
            return
        except IntegrityError:
            # Another replica inserted the same rows between our read and write: run again,
            # the merge now finds them.
            if attempt:
                raise


def stored_tree(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """The tree as stored: subjects -> topics -> skills, each skill with its prerequisites."""
    with session_scope(sessions) as session:
        subjects = session.scalars(select(TutorSubject).order_by(TutorSubject.position)).all()
        topics = session.scalars(select(TutorTopic).order_by(TutorTopic.position)).all()
        skills = session.scalars(select(TutorSkill).order_by(TutorSkill.position)).all()
        edges = session.execute(select(TutorPrerequisite.skill_id, TutorPrerequisite.requires_id))
        requires: dict[str, list[str]] = {}
        for skill_id, required in edges:
            requires.setdefault(skill_id, []).append(required)
        order = {s.id: s.position for s in skills}
        skill_views: dict[str, list[dict[str, Any]]] = {}
        for skill in skills:
            skill_views.setdefault(skill.topic_id, []).append(
                {
                    "id": skill.id,
                    "name": skill.name,
                    "kind": skill.kind,
                    "requires": sorted(requires.get(skill.id, []), key=order.__getitem__),
                }
            )
        topic_views: dict[str, list[dict[str, Any]]] = {}
        for topic in topics:
            topic_views.setdefault(topic.subject_id, []).append(
                {"id": topic.id, "name": topic.name, "skills": skill_views.get(topic.id, [])}
            )
        return {
            "subjects": [
                {"id": s.id, "name": s.name, "topics": topic_views.get(s.id, [])} for s in subjects
            ]
        }


def _known_skill(session: Session, skill_id: str) -> None:
    if session.get(TutorSkill, skill_id) is None:
        raise NotFound(f"unknown skill {skill_id!r}", param="skill")


def session_dict(row: TutorSession, attempts: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "student": row.student,
        "skill": row.skill_id,
    }
    if attempts:
        view["attempts"] = [attempt_dict(a) for a in row.attempts]
    return view


def attempt_dict(row: TutorAttempt) -> dict[str, Any]:
    return {
        "id": row.id,
        "session_id": row.session_id,
        "created_at": row.created_at.isoformat(),
        "problem": row.problem,
        "kind": row.kind,
        "skills": row.skills,
        "steps": row.steps,
        "correct": row.correct,
        "complete": row.complete,
        "first_wrong": row.first_wrong,
        "hints_used": row.hints_used,
        "mastery": row.mastery,
        # Right steps not counted as correct happen only after the solution was seen.
        "solved_after_seeing": row.complete and row.first_wrong is None and not row.correct,
    }


def create_session(
    sessions: sessionmaker[Session], student: str, skill_id: str | None = None
) -> dict[str, Any]:
    """A new session; `Invalid` for a bad student id, `NotFound` for an unknown skill."""
    check_student(student)
    with session_scope(sessions) as session:
        if skill_id is not None:
            _known_skill(session, skill_id)
        row = TutorSession(student=student, skill_id=skill_id, attempts=[])
        session.add(row)
        session.flush()
        return session_dict(row)


def get_session(sessions: sessionmaker[Session], session_id: int) -> dict[str, Any]:
    """One session with its attempts; `NotFound` when there is none."""
    with session_scope(sessions) as session:
        row = session.get(TutorSession, session_id)
        if row is None:
            raise NotFound(f"no tutor session {session_id}")
        return session_dict(row)


def list_sessions(
    sessions: sessionmaker[Session], student: str, limit: int = 50
) -> list[dict[str, Any]]:
    """A student's sessions, newest first, without their attempts."""
    check_student(student)
    query = (
        select(TutorSession)
        .where(TutorSession.student == student)
        .order_by(TutorSession.id.desc())
        .limit(limit)
    )
    with session_scope(sessions) as session:
        return [session_dict(row, attempts=False) for row in session.scalars(query)]


def record_attempt(
    sessions: sessionmaker[Session],
    tree: KnowledgeTree,
    session_id: int,
    *,
    problem: str,
    kind: str,
    skills: Iterable[str],
    steps: list[str],
    correct: bool,
    complete: bool,
    first_wrong: dict[str, Any] | None,
    hints_used: int,
    solution_seen: bool = False,
) -> dict[str, Any]:
    """Store a graded attempt and update the student's mastery of each of its skills, together
    (one transaction: both or neither). `NotFound` for no session.

    An attempt made after seeing the worked solution is stored and traced as a failed one,
    whatever its steps: copying the solution shows the student can follow it, not that they
    could find it. This is how knowledge tracing scores a bottom-out hint (the Cognitive
    Tutor's convention: asking for the answer is evidence of not knowing it), and unlike "no
    attempt" it keeps a reveal-then-copy loop from being free. Its steps' own verdict stays in
    `complete` and `first_wrong` (`solved_after_seeing` in the attempt's view)."""
    if hints_used < 0:
        raise Invalid("hints_used cannot be negative", param="hints_used")
    skill_ids = list(dict.fromkeys(skills))
    with session_scope(sessions) as session:
        row = session.get(TutorSession, session_id)
        if row is None:
            raise NotFound(f"no tutor session {session_id}")
        for skill_id in skill_ids:
            _known_skill(session, skill_id)
        query = (
            select(TutorMastery)
            .where(TutorMastery.student == row.student, TutorMastery.skill_id.in_(skill_ids))
            .with_for_update()  # two attempts of one student at once must not lose an update
        )
        current = {m.skill_id: m for m in session.scalars(query)}
        counted = correct and not solution_seen
        changes: dict[str, Any] = {}
        for skill_id in skill_ids:
            mastery = current.get(skill_id)
            if mastery is None:
                mastery = TutorMastery(
                    student=row.student,
                    skill_id=skill_id,
                    p_known=tree.bkt.p_init,
                    attempts=0,
                    correct=0,
                )
                session.add(mastery)
            before = mastery.p_known
            mastery.p_known = bkt_update(before, counted, tree.bkt)
            mastery.attempts += 1
            mastery.correct += int(counted)
            changes[skill_id] = {"before": round(before, 6), "after": round(mastery.p_known, 6)}
        attempt = TutorAttempt(
            problem=problem,
            kind=kind,
            skills=skill_ids,
            steps=steps,
            correct=counted,
            complete=complete,
            first_wrong=first_wrong,
            hints_used=hints_used,
            mastery=changes,
        )
        row.attempts.append(attempt)
        session.flush()
        return attempt_dict(attempt)


def mastery_rows(sessions: sessionmaker[Session], student: str) -> dict[str, dict[str, Any]]:
    """A student's stored mastery per skill: `p_known`, `attempts`, `correct`, `updated_at`
    (ISO, UTC)."""
    check_student(student)
    query = select(TutorMastery).where(TutorMastery.student == student)
    with session_scope(sessions) as session:
        return {
            m.skill_id: {
                "p_known": m.p_known,
                "attempts": m.attempts,
                "correct": m.correct,
                "updated_at": m.updated_at.isoformat(),
            }
            for m in session.scalars(query)
        }


def attempt_count(sessions: sessionmaker[Session], student: str) -> int:
    """How many attempts a student has made (seeds the next practice problem)."""
    query = (
        select(func.count(TutorAttempt.id))
        .join(TutorSession, TutorSession.id == TutorAttempt.session_id)
        .where(TutorSession.student == student)
    )
    with session_scope(sessions) as session:
        return int(session.scalar(query) or 0)
