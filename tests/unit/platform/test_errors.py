"""How failures become statuses and plain sentences (platform/errors.py)."""

from __future__ import annotations

from ray.exceptions import ActorDiedError, RayTaskError
from ray.serve.exceptions import DeploymentUnavailableError

from twincore.platform.errors import INTERNAL_MESSAGE, REPLICA_LOST_MESSAGE, NotFound, describe


def test_a_replica_that_died_mid_request_is_a_503_to_retry() -> None:
    status, kind, message, _, _ = describe(ActorDiedError())
    assert (status, kind, message) == (503, "service_unavailable", REPLICA_LOST_MESSAGE)
    assert describe(DeploymentUnavailableError("service-aml"))[0] == 503


def test_a_service_error_keeps_its_status_across_rays_wrapper() -> None:
    wrapped = RayTaskError("handle", "Traceback ...", NotFound("no case 7"))
    assert describe(wrapped)[:3] == (404, "not_found_error", "no case 7")


def test_anything_else_is_a_500_with_the_fixed_sentence() -> None:
    assert describe(KeyError("/srv/twincore/secret.py"))[:3] == (
        500,
        "server_error",
        INTERNAL_MESSAGE,
    )
