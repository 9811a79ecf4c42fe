"""Writes for cases. So far: working-calendar overrides."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from gridgov.accounts.services import audit_record
from gridgov.cases.models import CalendarOverride


@transaction.atomic
def calendar_override_set(*, actor: Any, day: date, is_working_day: bool, note: str = "") -> CalendarOverride:
    """Declare `day` a working day or a day off, replacing any earlier override of it."""
    override, _ = CalendarOverride.objects.update_or_create(
        day=day, defaults={"is_working_day": is_working_day, "note": note.strip()[:100]}
    )
    audit_record(
        actor=actor,
        action="calendar_override_set",
        object_type="calendar",
        object_id=day.isoformat(),
        detail={"is_working_day": is_working_day, "note": override.note},
    )
    return override


@transaction.atomic
def calendar_override_clear(*, actor: Any, day: date) -> bool:
    deleted, _ = CalendarOverride.objects.filter(day=day).delete()
    if deleted:
        audit_record(
            actor=actor, action="calendar_override_clear", object_type="calendar", object_id=day.isoformat(), detail={}
        )
    return bool(deleted)
