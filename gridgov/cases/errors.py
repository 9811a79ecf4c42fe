"""Errors of the case services. Each carries a whole Chinese sentence for the user.

- `CaseConflict` (HTTP 409): the case is in a state that does not allow the
  action, or someone else changed it first.
- `CaseForbidden` (HTTP 403): the actor may see the case but not take this action.
- Bad input raises Django's `ValidationError` (HTTP 400/422).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class CaseConflict(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CaseForbidden(PermissionDenied):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
