"""Errors of the credit services: `CreditConflict` → 409, `CreditForbidden` → 403 (API handlers
of the case errors). Bad input is a `ValidationError` (400)."""

from __future__ import annotations

from gridgov.cases.errors import CaseConflict, CaseForbidden


class CreditConflict(CaseConflict):
    pass


class CreditForbidden(CaseForbidden):
    pass
