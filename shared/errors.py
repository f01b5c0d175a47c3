"""One error hierarchy for the edge, the cloud and the CLI.

Every error carries a stable machine code and the HTTP status it maps to, so the cloud's exception
handlers, the edge server and the CLI all report the same failure the same way.
"""

from __future__ import annotations

from typing import Any


class FrugalError(Exception):
    """Base of every error frugalstack raises on purpose."""

    code: str = "frugal_error"
    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        """OpenAI-style error body: ``{"error": {"message", "type", "code"}}``."""
        body: dict[str, Any] = {"message": str(self), "type": self.code, "code": self.code}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class ConfigError(FrugalError):
    code = "config_error"
    http_status = 400
    exit_code = 2


class ValidationError(FrugalError):
    code = "invalid_request_error"
    http_status = 422
    exit_code = 2


class ContextOverflowError(ValidationError):
    code = "context_length_exceeded"
    http_status = 400


class UnsupportedFeature(FrugalError):
    """A backend was asked for something its runtime cannot do; never silently ignored."""

    code = "unsupported_feature"
    http_status = 400
    exit_code = 2


class NotFoundError(FrugalError):
    code = "not_found"
    http_status = 404
    exit_code = 3


class UnknownModelError(NotFoundError):
    code = "model_not_found"


class UnknownProfileError(NotFoundError):
    code = "profile_not_found"


class UnknownBackendError(NotFoundError):
    code = "backend_not_found"


class ModelLoadError(FrugalError):
    """The weights are missing, corrupt or not in the format the backend reads."""

    code = "model_load_error"
    http_status = 500
    exit_code = 4


class MissingDependencyError(FrugalError):
    """An optional runtime is not installed; the message names the extra that brings it."""

    code = "missing_dependency"
    http_status = 501
    exit_code = 5

    def __init__(self, package: str, extra: str, *, purpose: str = "", hint: str | None = None):
        what = f" for {purpose}" if purpose else ""
        super().__init__(
            f"{package} is not installed{what}",
            hint=hint or f"install it with: pip install 'frugalstack[{extra}]'",
            details={"package": package, "extra": extra},
        )
        self.package = package
        self.extra = extra


class GenerationError(FrugalError):
    code = "generation_error"
    http_status = 500
    exit_code = 6


class AuthenticationError(FrugalError):
    code = "authentication_error"
    http_status = 401
    exit_code = 7


class PermissionDeniedError(FrugalError):
    code = "permission_denied"
    http_status = 403
    exit_code = 7


class ConflictError(FrugalError):
    code = "conflict"
    http_status = 409


class PayloadTooLargeError(FrugalError):
    code = "payload_too_large"
    http_status = 413
    exit_code = 2


class RateLimitError(FrugalError):
    code = "rate_limit_exceeded"
    http_status = 429


class UpstreamError(FrugalError):
    """The cloud or a remote model server failed or answered garbage."""

    code = "upstream_error"
    http_status = 502


class ServiceUnavailableError(FrugalError):
    code = "service_unavailable"
    http_status = 503


class StorageFullError(FrugalError):
    """The device's disk (or a quota) ran out while writing; what was written before stays intact."""

    code = "storage_full"
    http_status = 507
    exit_code = 8


class DeadlineExceededError(FrugalError):
    code = "deadline_exceeded"
    http_status = 504


__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "ContextOverflowError",
    "DeadlineExceededError",
    "FrugalError",
    "GenerationError",
    "MissingDependencyError",
    "ModelLoadError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "StorageFullError",
    "UnknownBackendError",
    "UnknownModelError",
    "UnknownProfileError",
    "UnsupportedFeature",
    "UpstreamError",
    "ValidationError",
]
