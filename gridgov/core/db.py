"""Database helpers that belong to no domain app."""

from __future__ import annotations

from django.db import models


def delete_every_row(model: type[models.Model]) -> int:
    """One `DELETE FROM` the model's table (demo resets only).

    `QuerySet.delete()` first loads every row to look for related rows: for a county's million
    case steps or 900,000 residents that costs minutes and gigabytes. The caller deletes the
    related rows first (leaves of the foreign-key graph upwards), and no signal handlers watch
    the models deleted this way.
    """
    queryset = model._default_manager.all()
    return int(queryset._raw_delete(queryset.db))
