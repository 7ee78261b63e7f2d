"""The errors of Karvdash's operations, and the one table that gives each its HTTP status.

Domain code raises :class:`ApiError` (or a subclass) with a stable, machine-readable
``reason`` and a message that says what to do; it never picks a status. :data:`STATUS`
maps every reason to the status that fits, and is used by every handler of every app
(``apps.base``) and by the hub's hooks (``hub.accounts``), so the same fault answers
the same way wherever it surfaces. A unit test holds the table against the OpenAPI
document.

Pure: no I/O and no third-party imports.
"""

from __future__ import annotations

#: reason -> HTTP status; a reason missing here is a programming error (500)
STATUS: dict[str, int] = {
    # 400: bad input
    "bad-request": 400,
    "bad-json": 400,
    "bad-encoding": 400,
    "bad-user": 400,
    "bad-variables": 400,
    "bad-template-id": 400,
    "missing-template": 400,
    "name-too-long": 400,
    "bad-path": 400,
    "bad-reference": 400,
    "bad-archive": 400,
    "bad-client": 400,
    # 401: who are you?
    "not-authenticated": 401,
    # 403: not yours, not allowed
    "forbidden": 403,
    "not-yours": 403,
    "builtin-template": 403,
    "outside-domain": 403,
    "permission-denied": 403,
    "configured-client": 403,
    # 404: missing
    "not-found": 404,
    "no-such-endpoint": 404,
    "no-such-user": 404,
    "service-not-found": 404,
    "template-not-found": 404,
    "upload-not-found": 404,
    "image-not-found": 404,
    "no-registry": 404,
    "no-identity": 404,
    "client-not-found": 404,
    # 405
    "method-not-allowed": 405,
    # 409: taken or in the way
    "conflict": 409,
    "name-taken": 409,
    "singleton": 409,
    "object-exists": 409,
    "template-exists": 409,
    "namespace-conflict": 409,
    "namespace-terminating": 409,
    "cannot-purge": 409,
    "file-exists": 409,
    "folder-not-empty": 409,
    "not-a-folder": 409,
    "is-a-folder": 409,
    "not-a-file": 409,
    "offset-mismatch": 409,
    "upload-busy": 409,
    # 413, 416: too much, or not there
    "too-large": 413,
    "range-not-satisfiable": 416,
    # 422: the template or the cluster says no
    "invalid-template": 422,
    "template-not-allowed": 422,
    "rejected-by-cluster": 422,
    "kind-not-installed": 422,
    # 500
    "server-error": 500,
    # 503: a part is unreachable or refused us; try again
    "cluster-unavailable": 503,
    "cluster-unreachable": 503,
    "cluster-forbidden": 503,
    "cluster-error": 503,
    "hub-unreachable": 503,
    "files-unavailable": 503,
    "registry-unavailable": 503,
    # 507: the disk is full or the quota used up
    "insufficient-storage": 507,
}


def status_of(reason: str) -> int:
    """The HTTP status of a reason (500 for a reason the table does not know)."""
    return STATUS.get(reason, 500)


class ApiError(Exception):
    """An operation refused or failed: ``reason`` (a key of :data:`STATUS`), a message
    that says what to do, and details (``where``, ``violations``) for the client."""

    def __init__(self, reason: str, message: str, **details):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    @property
    def status(self) -> int:
        return status_of(self.reason)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            **self.details,
        }


class ProvisioningError(ApiError):
    """A user's namespace could not be made ready (or removed); the message says why."""

    def __init__(self, message: str, reason: str = "cluster-unavailable"):
        super().__init__(reason, message)


class NamespaceConflict(ProvisioningError):
    """The user's namespace exists but Karvdash did not make it for this user."""

    def __init__(self, message: str):
        super().__init__(message, reason="namespace-conflict")

    @classmethod
    def of(cls, namespace: str, username: str) -> NamespaceConflict:
        return cls(
            f"namespace {namespace} already exists and was not made by Karvdash for user"
            f" {username!r}; Karvdash will not use or change it. An administrator must"
            " resolve this: remove or rename that namespace, or give the user another name"
        )
