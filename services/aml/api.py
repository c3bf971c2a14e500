"""REST routes of the AML service, mounted at `/v1/aml`: datasets, runs, alerts, cases,
narratives. Alerts are deduplicated across runs (same dataset, account and patterns: same
alert id); opening a case for an account that has one returns that case (200, `existing`).
Routes stay thin: validate the body, call the service; its errors (the platform
family) are mapped to statuses once, by the gateway."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from twincore.platform.gateway.schemas import RowId
from twincore.services.aml.errors import UploadTooLarge

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
Actor = Annotated[str, Field(min_length=1, max_length=100, description="who acts (audited)")]


class SampleRequest(BaseModel):
    sample: str = Field(description="a packaged AMLSim sample, see GET /v1/aml/samples")
    name: str | None = Field(None, max_length=200, description="dataset name; default the sample's")


class RunRequest(BaseModel):
    dataset_id: RowId
    budget: int = Field(100, ge=1, le=10_000, description="most alerts the run may raise")


class OpenCaseRequest(BaseModel):
    alert_id: RowId
    actor: Actor
    assignee: str | None = Field(None, max_length=100)


class StatusRequest(BaseModel):
    status: Literal["open", "investigating", "escalated", "sar_filed", "closed"]
    actor: Actor
    reason: str | None = Field(None, max_length=2000, description="needed to close or reopen")


class AssignRequest(BaseModel):
    assignee: str = Field(min_length=1, max_length=100)
    actor: Actor


class NoteRequest(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    actor: Actor


class DraftRequest(BaseModel):
    actor: Actor
    model: Literal["deep", "swift", "auto"] = Field("deep", description="the core that drafts")
    max_tokens: int = Field(700, ge=50, le=2000, description="length budget of the draft")


class EditRequest(BaseModel):
    text: str = Field(min_length=1, max_length=50_000)
    actor: Actor


def build_api(service: Any) -> APIRouter:
    """The routes over `service` (an `AmlService` client: every method awaited)."""
    api = APIRouter(tags=["aml"])

    @api.get("/samples")
    async def samples() -> Any:
        return await service.samples()

    @api.get("/datasets")
    async def datasets() -> Any:
        return await service.list_datasets()

    @api.post("/datasets", status_code=201)
    async def upload_dataset(
        file: Annotated[UploadFile, File(description="CSV, or .tgz/.zip of an AMLSim folder")],
        name: Annotated[str, Form(min_length=1, max_length=200)],
        format: Annotated[Literal["auto", "amlsim", "amlworld", "canonical"], Form()] = "auto",
    ) -> Any:
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadTooLarge(
                f"uploads are limited to {MAX_UPLOAD_BYTES >> 20} MiB", param="file"
            )
        return await service.ingest_upload(
            data, filename=file.filename or "upload.csv", name=name, fmt=format
        )

    @api.post("/datasets/samples", status_code=201)
    async def ingest_sample(body: SampleRequest) -> Any:
        return await service.ingest_sample(body.sample, name=body.name)

    @api.get("/datasets/{dataset_id}")
    async def dataset(dataset_id: RowId) -> Any:
        return await service.get_dataset(dataset_id)

    @api.delete("/datasets/{dataset_id}", status_code=204)
    async def delete_dataset(dataset_id: RowId) -> None:
        await service.delete_dataset(dataset_id)

    @api.post("/runs", status_code=201)
    async def run(body: RunRequest) -> Any:
        return await service.run_detection(body.dataset_id, budget=body.budget)

    @api.get("/runs")
    async def runs(dataset_id: RowId | None = None) -> Any:
        return await service.list_runs(dataset_id)

    @api.get("/runs/{run_id}")
    async def get_run(run_id: RowId) -> Any:
        return await service.get_run(run_id)

    @api.get("/runs/{run_id}/alerts")
    async def alerts(run_id: RowId) -> Any:
        return await service.list_alerts(run_id)

    @api.get("/runs/{run_id}/alerts.csv", response_class=PlainTextResponse)
    async def alerts_csv(run_id: RowId) -> PlainTextResponse:
        text = await service.alerts_csv(run_id)
        disposition = f'attachment; filename="aml-run-{run_id}-alerts.csv"'
        return PlainTextResponse(
            text, media_type="text/csv", headers={"Content-Disposition": disposition}
        )

    @api.get("/alerts/{alert_id}")
    async def alert(alert_id: RowId) -> Any:
        return await service.get_alert(alert_id)

    @api.post("/cases", status_code=201)
    async def open_case(body: OpenCaseRequest, response: Response) -> Any:
        """201 with a new case; 200 with the existing one (`existing: true`) when the alert or
        its account already has a case: one active case per account, never a second."""
        case = await service.open_case(body.alert_id, actor=body.actor, assignee=body.assignee)
        if case["existing"]:
            response.status_code = 200
        return case

    @api.get("/cases")
    async def list_cases(
        case_status: Annotated[str | None, Query(alias="status")] = None,
    ) -> Any:
        return await service.list_cases(case_status)

    @api.get("/cases/{case_id}")
    async def get_case(case_id: RowId) -> Any:
        return await service.get_case(case_id)

    @api.post("/cases/{case_id}/status")
    async def change_status(case_id: RowId, body: StatusRequest) -> Any:
        return await service.change_status(
            case_id, status=body.status, actor=body.actor, reason=body.reason
        )

    @api.post("/cases/{case_id}/assign")
    async def assign(case_id: RowId, body: AssignRequest) -> Any:
        return await service.assign(case_id, assignee=body.assignee, actor=body.actor)

    @api.post("/cases/{case_id}/notes")
    async def note(case_id: RowId, body: NoteRequest) -> Any:
        return await service.add_note(case_id, text=body.text, actor=body.actor)

    @api.get("/cases/{case_id}/facts")
    async def facts(case_id: RowId) -> Any:
        return await service.case_facts(case_id)

    @api.get("/cases/{case_id}/narratives")
    async def narratives(case_id: RowId) -> Any:
        return await service.list_narratives(case_id)

    @api.post("/cases/{case_id}/narratives/draft", status_code=201)
    async def draft(case_id: RowId, body: DraftRequest) -> Any:
        return await service.draft_narrative(
            case_id, actor=body.actor, model=body.model, max_tokens=body.max_tokens
        )

    @api.post("/cases/{case_id}/narratives", status_code=201)
    async def edit(case_id: RowId, body: EditRequest) -> Any:
        return await service.edit_narrative(case_id, text=body.text, actor=body.actor)

    return api
