"""The AML service facade: datasets, detection runs, alerts, cases and SAR narratives.

Routes and the Gradio app call these methods (in-process or through a Ray handle), so every
result is a plain JSON-ready dict. Detection works without any model core; only drafting a
narrative calls the router (the deep core by default), on the escalation ladder the routing
policy gives `aml` with the number/section check as the verifier; the draft carries the
escalation as `twincore`.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.errors import Invalid
from twincore.platform.router.escalation import summarize
from twincore.platform.router.router import RouterClient
from twincore.platform.router.setup import service_ladder
from twincore.platform.settings import Settings
from twincore.services.aml import views
from twincore.services.aml.alerts import store_run_alerts
from twincore.services.aml.cases import workflow
from twincore.services.aml.detect.classifier import RiskModel
from twincore.services.aml.detect.pipeline import detect
from twincore.services.aml.errors import CaseError, DatasetExistsError, NotFoundError
from twincore.services.aml.ingest.formats import FormatChoice, IngestError, Issue, read_dataset
from twincore.services.aml.ingest.frames import Dataset
from twincore.services.aml.ingest.samples import SAMPLE_NAMES, sample_dir
from twincore.services.aml.models import AlertRecord, AmlDataset, Case, DetectionRun, Narrative
from twincore.services.aml.narrative.check import check_narrative
from twincore.services.aml.narrative.draft import SERVICE, draft_sar
from twincore.services.aml.narrative.facts import build_facts
from twincore.services.aml.store import get_row, load_dataset, store_dataset

logger = logging.getLogger(__name__)

NARRATIVE_MAX_TOKENS = 700
DATASET_CACHE = 2
"""Datasets kept in memory after a run or an alert view (they load back from SQL otherwise)."""


class AmlService:
    """Everything the AML API and app do, over one database and the router."""

    def __init__(self, router: RouterClient, settings: Settings) -> None:
        self._router = router
        self._ladder = service_ladder(settings, SERVICE)
        self._engine = create_db_engine(settings.database_url)
        self._sessions = session_factory(self._engine)
        self._model_dir = settings.data_dir / "aml" / "model"
        self._cache: OrderedDict[int, Dataset] = OrderedDict()
        self._lock = threading.Lock()

    # datasets -----------------------------------------------------------------------------

    def list_datasets(self) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            rows = session.scalars(select(AmlDataset).order_by(AmlDataset.id))
            return [views.dataset(row) for row in rows]

    def get_dataset(self, dataset_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            return views.dataset(_dataset_row(session, dataset_id))

    def samples(self) -> list[str]:
        return list(SAMPLE_NAMES)

    def ingest_file(self, path: str, *, name: str, fmt: FormatChoice = "auto") -> dict[str, Any]:
        """Parse, validate and store a file, folder or archive; all of it or nothing."""
        name = name.strip()
        if not name:
            raise IngestError([Issue(Path(path).name, 0, "a dataset needs a name")])
        with session_scope(self._sessions) as session:
            if session.scalar(select(AmlDataset.id).where(AmlDataset.name == name)) is not None:
                raise DatasetExistsError(f"a dataset named {name!r} already exists")
        dataset = read_dataset(Path(path), name=name, fmt=fmt)
        dataset_id = store_dataset(self._engine, dataset)
        self._remember(dataset_id, dataset)
        return self.get_dataset(dataset_id)

    def ingest_upload(
        self, data: bytes, *, filename: str, name: str, fmt: FormatChoice = "auto"
    ) -> dict[str, Any]:
        """An uploaded CSV or archive: written to a private temporary folder, then ingested."""
        safe = Path(filename).name or "upload.csv"
        with tempfile.TemporaryDirectory(prefix="twincore-aml-upload-") as folder:
            target = Path(folder) / safe
            target.write_bytes(data)
            return self.ingest_file(str(target), name=name, fmt=fmt)

    def ingest_sample(self, sample: str, *, name: str | None = None) -> dict[str, Any]:
        """A packaged AMLSim sample; ingesting one already stored returns the stored one."""
        if sample not in SAMPLE_NAMES:
            raise NotFoundError(f"no sample {sample!r}; one of {', '.join(SAMPLE_NAMES)}")
        folder = sample_dir(sample)
        wanted = name or sample
        with session_scope(self._sessions) as session:
            existing = session.scalar(select(AmlDataset).where(AmlDataset.name == wanted))
            if existing is not None:
                return views.dataset(existing)
        return self.ingest_file(str(folder), name=wanted, fmt="amlsim")

    def delete_dataset(self, dataset_id: int) -> None:
        with session_scope(self._sessions) as session:
            _dataset_row(session, dataset_id)
            session.execute(delete(AmlDataset).where(AmlDataset.id == dataset_id))
        with self._lock:
            self._cache.pop(dataset_id, None)

    # runs and alerts ----------------------------------------------------------------------

    def run_detection(self, dataset_id: int, *, budget: int = 100) -> dict[str, Any]:
        """Detect patterns, score accounts and store the ranked alerts of one run."""
        if budget < 1:
            raise Invalid("the alert budget must be at least 1", param="budget")
        dataset = self._dataset(dataset_id)
        model = RiskModel.load(self._model_dir) if RiskModel.exists(self._model_dir) else None
        started = views.now()
        # The run is stored once, with its alerts, when detection ends (or with its error): a
        # replica killed mid-detection leaves no run "running" forever.
        try:
            result = detect(dataset, model, budget=budget)
        except Exception as error:
            with session_scope(self._sessions) as session:
                session.add(
                    DetectionRun(
                        dataset_id=dataset_id,
                        status="failed",
                        budget=budget,
                        stats={},
                        model_version=model.version if model else None,
                        error=f"{type(error).__name__}: {error}",
                        created_at=started,
                        finished_at=views.now(),
                    )
                )
            raise
        with session_scope(self._sessions) as session:
            _dataset_row(session, dataset_id)  # not deleted meanwhile
            run = DetectionRun(
                dataset_id=dataset_id,
                status="done",
                budget=budget,
                stats={},
                model_version=model.version if model else None,
                created_at=started,
                finished_at=views.now(),
            )
            session.add(run)
            session.flush()
            counts = store_run_alerts(
                session,
                run_id=run.id,
                dataset_id=dataset_id,
                alerts=result.alerts,
                hits=result.hits,
                dataset=dataset,
            )
            run.stats = {**views.run_stats(result), **counts}
            session.flush()
            return views.run(run, alerts=len(result.alerts))

    def list_runs(self, dataset_id: int | None = None) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            query = select(DetectionRun).order_by(DetectionRun.id.desc())
            if dataset_id is not None:
                query = query.where(DetectionRun.dataset_id == dataset_id)
            counts = dict(
                session.execute(
                    select(AlertRecord.run_id, func.count()).group_by(AlertRecord.run_id)
                ).all()
            )
            return [views.run(r, alerts=counts.get(r.id, 0)) for r in session.scalars(query)]

    def get_run(self, run_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            run = get_row(session, DetectionRun, run_id, "run")
            count = session.scalar(select(func.count()).where(AlertRecord.run_id == run_id))
            return views.run(run, alerts=int(count or 0))

    def list_alerts(self, run_id: int) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            run = get_row(session, DetectionRun, run_id, "run")
            query = select(AlertRecord).where(AlertRecord.run_id == run_id)
            alerts = list(session.scalars(query.order_by(AlertRecord.rank)))
            keys = [a.account_key for a in alerts]
            names = views.account_names(session, run.dataset_id, keys)
            cases = views.cases_by_account(session, run.dataset_id, keys)
            return [views.alert(a, names, cases.get(a.account_key)) for a in alerts]

    def alerts_csv(self, run_id: int) -> str:
        """The run's alerts as CSV text (one row per alert, the table's columns)."""
        return views.alerts_csv(self.list_alerts(run_id))

    def get_alert(self, alert_id: int) -> dict[str, Any]:
        """The alert with its subgraph: accounts and transactions in time order."""
        with session_scope(self._sessions) as session:
            alert = get_row(session, AlertRecord, alert_id, "alert")
            run = session.get_one(DetectionRun, alert.run_id)
            case_id = views.cases_by_account(session, run.dataset_id, [alert.account_key]).get(
                alert.account_key
            )
            body = views.alert(alert, {}, case_id)
            body["subgraph"] = views.subgraph(session, run.dataset_id, alert)
            body["account"] = next(
                a["name"] for a in body["subgraph"]["accounts"] if a["key"] == alert.account_key
            )
            return body

    # cases --------------------------------------------------------------------------------

    def open_case(
        self, alert_id: int, *, actor: str, assignee: str | None = None
    ) -> dict[str, Any]:
        """Open the alert's case; `existing` is true when the alert or its account already had
        one (one active case per account), which is returned unchanged instead."""
        with session_scope(self._sessions) as session:
            case, opened = workflow.open_case(
                session, alert_id=alert_id, actor=actor, assignee=assignee
            )
            return {**views.case(session, case), "existing": not opened}

    def list_cases(self, status: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in workflow.STATUSES:
            raise CaseError(f"unknown status {status!r}; one of {', '.join(workflow.STATUSES)}")
        with session_scope(self._sessions) as session:
            query = select(Case).order_by(Case.id.desc())
            if status is not None:
                query = query.where(Case.status == status)
            return [views.case(session, c) for c in session.scalars(query)]

    def get_case(self, case_id: int) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            case = workflow.get_case(session, case_id)
            body = views.case(session, case)
            body["events"] = [views.event(e) for e in workflow.case_events(session, case_id)]
            body["narratives"] = [views.narrative(n) for n in _narratives(session, case_id)]
            return body

    def change_status(
        self, case_id: int, *, status: str, actor: str, reason: str | None = None
    ) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            workflow.change_status(
                session, case_id=case_id, to_status=status, actor=actor, reason=reason
            )
        return self.get_case(case_id)

    def assign(self, case_id: int, *, assignee: str, actor: str) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            workflow.assign(session, case_id=case_id, assignee=assignee, actor=actor)
        return self.get_case(case_id)

    def add_note(self, case_id: int, *, text: str, actor: str) -> dict[str, Any]:
        with session_scope(self._sessions) as session:
            workflow.add_note(session, case_id=case_id, text=text, actor=actor)
        return self.get_case(case_id)

    # narratives ---------------------------------------------------------------------------

    def case_facts(self, case_id: int) -> dict[str, Any]:
        """The fact sheet a narrative of this case is written from and checked against."""
        with session_scope(self._sessions) as session:
            case = workflow.get_case(session, case_id)
            alert = session.get_one(AlertRecord, case.alert_id)
            run = session.get_one(DetectionRun, alert.run_id)
            dataset = session.get_one(AmlDataset, run.dataset_id)
            names = views.account_names(session, run.dataset_id, [alert.account_key])
            return build_facts(
                case_id=case.id,
                dataset=dataset.name,
                subject=names[alert.account_key],
                score=alert.score,
                patterns=alert.patterns,
                reasons=alert.reasons,
                transactions=views.fact_transactions(session, run.dataset_id, alert, names),
            )

    async def draft_narrative(
        self,
        case_id: int,
        *,
        actor: str,
        model: str = "deep",
        max_tokens: int = NARRATIVE_MAX_TOKENS,
    ) -> dict[str, Any]:
        """Draft a SAR narrative with a core (`auto` may escalate from swift to deep), check
        its numbers and sections against the facts, repair or escalate while the check fails,
        store the narrative that stands as the next version; it carries `twincore` (attempts,
        verdict, decision)."""
        events = self.draft_events(case_id, actor=actor, model=model, max_tokens=max_tokens)
        async for event in events:
            if event["event"] == "result":
                result: dict[str, Any] = event["narrative"]
                return result
        raise RuntimeError("the draft ended without a result")

    async def draft_events(
        self,
        case_id: int,
        *,
        actor: str,
        model: str = "deep",
        max_tokens: int = NARRATIVE_MAX_TOKENS,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """`draft_narrative` as JSON-ready events: `start` (model, max_tokens), then per
        attempt `attempt_start` (step, model), `token` (text as written) and `attempt` (core,
        passed, reasons), then `result` with the stored narrative. Closing the stream early
        (a Cancel) stops the core's generation and stores nothing."""
        facts = await asyncio.to_thread(self.case_facts, case_id)
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        drafting = asyncio.create_task(
            draft_sar(
                self._router,
                facts,
                model=model,
                max_tokens=max_tokens,
                ladder=self._ladder,
                on_event=events.put_nowait,
            )
        )
        drafting.add_done_callback(lambda _task: events.put_nowait(None))
        try:
            yield {"event": "start", "case_id": case_id, "model": model, "max_tokens": max_tokens}
            while (event := await events.get()) is not None:
                yield event
            escalation = drafting.result()
        finally:
            drafting.cancel()
        logger.info("case %s narrative: %s", case_id, summarize(escalation.attempts))
        stored = await asyncio.to_thread(
            self._store_narrative,
            case_id,
            text=escalation.answer.text,
            facts=facts,
            source="draft",
            author=actor,
            core=escalation.core,
            twincore=escalation.as_dict(),
        )
        yield {"event": "result", "narrative": stored}

    def edit_narrative(self, case_id: int, *, text: str, actor: str) -> dict[str, Any]:
        """An analyst's version: kept as written, checked like a draft."""
        if not text.strip():
            raise CaseError("a narrative needs text")
        facts = self.case_facts(case_id)
        return self._store_narrative(
            case_id, text=text.strip(), facts=facts, source="edit", author=actor, core=None
        )

    def list_narratives(self, case_id: int) -> list[dict[str, Any]]:
        with session_scope(self._sessions) as session:
            workflow.get_case(session, case_id)
            return [views.narrative(n) for n in _narratives(session, case_id)]

    def _store_narrative(
        self,
        case_id: int,
        *,
        text: str,
        facts: dict[str, Any],
        source: str,
        author: str,
        core: str | None,
        twincore: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        check = check_narrative(text, facts)
        if twincore is not None:
            check["twincore"] = twincore  # kept with the check: no new column needed
        with session_scope(self._sessions) as session:
            case = workflow.get_case(session, case_id)
            latest = session.scalar(
                select(func.max(Narrative.version)).where(Narrative.case_id == case_id)
            )
            entry = Narrative(
                case_id=case_id,
                version=int(latest or 0) + 1,
                source=source,
                author=author,
                core=core,
                text=text,
                facts=facts,
                check=check,
            )
            session.add(entry)
            session.flush()
            flagged = "" if check["ok"] else f"; check flagged {len(check['mismatches'])} number(s)"
            by = f" by {core}" if core else ""
            if twincore is not None and twincore["escalated"]:
                steps = [f"{a['core']} {a['step']} {a['verdict']}" for a in twincore["attempts"]]
                by += f"; attempts: {', '.join(steps)}"
            workflow.audit(
                session,
                case_id=case.id,
                actor=author,
                kind="narrative",
                detail=f"version {entry.version} ({source}{by}){flagged}",
            )
            return views.narrative(entry)

    # internals ----------------------------------------------------------------------------

    def _dataset(self, dataset_id: int) -> Dataset:
        with self._lock:
            if dataset_id in self._cache:
                self._cache.move_to_end(dataset_id)
                return self._cache[dataset_id]
        with session_scope(self._sessions) as session:
            _dataset_row(session, dataset_id)
        dataset = load_dataset(self._engine, dataset_id)
        self._remember(dataset_id, dataset)
        return dataset

    def _remember(self, dataset_id: int, dataset: Dataset) -> None:
        with self._lock:
            self._cache[dataset_id] = dataset
            while len(self._cache) > DATASET_CACHE:
                self._cache.popitem(last=False)

    def close(self) -> None:
        self._engine.dispose()


def _dataset_row(session: Session, dataset_id: int) -> AmlDataset:
    return get_row(session, AmlDataset, dataset_id, "dataset")


def _narratives(session: Session, case_id: int) -> list[Narrative]:
    query = select(Narrative).where(Narrative.case_id == case_id).order_by(Narrative.version)
    return list(session.scalars(query))
