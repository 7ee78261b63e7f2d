"""The one error type of the dashboard service's operations: an HTTP status that fits,
a stable machine-readable ``reason`` and a message that says what to do."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, **details):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            **self.details,
        }
