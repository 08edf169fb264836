"""Typed errors raised to users. Each message says what happened and what to do next.

The UI shows ``str(error)``, never a traceback.
"""

from __future__ import annotations

import re


class DalloshError(Exception):
    """Base of every error meant for a user."""


#: How a stored field reads in a sentence, where its name alone would not do.
FIELD_WORDS = {"password_confirm": "the password confirmation", "role_id": "the role", "tweet_id": "the tweet",
               "new_value": "the new value", "uid": "the record's id"}


def field_key(name: str) -> str:
    """``data.email`` → ``email``, ``ai.local.data.retryRequests`` → ``retryRequests``, ``x.permissions[2]`` →
    ``permissions``: the form key a ValidationError is about."""
    return re.sub(r"\[\d+\]$", "", name.rsplit(".", 1)[-1])


def field_words(name: str) -> str:
    """``data.password_confirm`` → "the password confirmation", ``retryRequests`` → "the retry requests"."""
    key = field_key(name)
    if key in FIELD_WORDS:
        return FIELD_WORDS[key]
    return "the " + re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).replace("_", " ").lower()


class ValidationError(DalloshError, ValueError):
    """A value is not acceptable; ``field`` names it (dotted path, e.g. ``data.email``). The message reads as a
    sentence about the field ("The password confirmation does not match the password."), never the path."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        words = field_words(field)
        super().__init__(f"{words[:1].upper()}{words[1:]} {message}")


class PermissionDenied(DalloshError):
    """The acting user lacks the permission a service method requires."""


class AuthenticationFailed(DalloshError):
    """Login refused. The message never says whether the email exists."""


class LoginThrottled(AuthenticationFailed):
    """Too many failed logins for one account; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: float):
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-in attempts. Wait {minutes} minute(s) and try again, "
            "or ask an administrator to reset your password."
        )


class NotFound(DalloshError):
    """The requested document does not exist (or is not visible to the acting user)."""


class Conflict(DalloshError):
    """The change would break a rule (duplicate email, last admin, role still in use...)."""


class InvalidDataset(DalloshError):
    """An uploaded file cannot be used as a tweet dataset."""


class DuplicateDataset(InvalidDataset):
    """The same file content was already uploaded; ``existing_uid`` points at it."""

    def __init__(self, message: str, existing_uid: str):
        self.existing_uid = existing_uid
        super().__init__(message)


class IllegalTransition(DalloshError):
    """A task status change that the lifecycle does not allow from the current status."""


class MaintenanceMode(DalloshError):
    """The app is in maintenance: starting work is paused by an administrator."""


class ProviderError(DalloshError):
    """An LLM provider could not label a request after its retries (the pipeline then falls back)."""
