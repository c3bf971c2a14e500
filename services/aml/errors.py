"""The AML service's errors: each a member of the platform family, mapped once by the gateway
(a bad upload's lines travel in `details`; see `ingest.formats.issues.IngestError`)."""

from __future__ import annotations

from twincore.platform.errors import Conflict, Invalid, NotFound


class NotFoundError(NotFound):
    """The dataset, run, alert, case or sample asked for does not exist."""


class DatasetExistsError(Conflict):
    """A dataset of that name is already stored (names are unique)."""


class CaseError(Invalid):
    """A case action the workflow does not allow; the message says why."""


class UploadTooLarge(Invalid):
    """An upload over the size the API accepts."""

    status = 413
