"""Errors of the patrol services, each with a whole Chinese sentence.

They extend the case errors so that the API answers them the same way:
`PatrolConflict` → 409 (the patrol's state does not allow it), `PatrolForbidden`
→ 403 (may see the patrol but not act on it). Bad input is a `ValidationError` (400).
"""

from __future__ import annotations

from gridgov.cases.errors import CaseConflict, CaseForbidden


class PatrolConflict(CaseConflict):
    pass


class PatrolForbidden(CaseForbidden):
    pass
