"""Background tasks of the registry (django-tasks, database backend; run by `manage.py run_worker`).

Tasks take ids, never model instances, and are idempotent: each one re-reads
the row and does nothing unless the row is in the status the task expects.
Enqueue them only after the transaction that made the row commits
(`transaction.on_commit(lambda: task.enqueue(import_id))`).
"""

from __future__ import annotations

from django_tasks import task

from gridgov.registry import importing


@task()
def registry_import_validate_task(import_id: int) -> None:
    importing.registry_import_validate(import_id)


@task()
def registry_import_commit_task(import_id: int) -> None:
    importing.registry_import_commit(import_id)
