"""Writes for patrols. Each function is one transaction; failed checks raise
before anything is written.

Only the grid worker who started a patrol acts on it, and only while they are
still a grid worker of its grid; office staff read patrols but do not write them.
A finding becomes a case through `case_submit` (source 巡查) under an
idempotency key derived from the finding, so a double tap files one case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import grid_at
from gridgov.cases.choices import CaseKind, CaseSource, Urgency
from gridgov.cases.models import Case, Category
from gridgov.cases.rules import is_grid_worker_of
from gridgov.cases.services import CaseInput, case_submit
from gridgov.cases.services.lifecycle import attachments_validate
from gridgov.patrols.choices import CheckResult, FindingStatus, PatrolStatus
from gridgov.patrols.errors import PatrolConflict, PatrolForbidden
from gridgov.patrols.models import (
    CheckItem,
    Patrol,
    PatrolCheck,
    PatrolFinding,
    PatrolFindingPhoto,
    PatrolVisit,
)
from gridgov.registry.models import Household

ROUTE_POINTS_MAX = 500
NOTES_MAX_LENGTH = 2000
CASE_TITLE_LENGTH = 30


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _text(value: str, *, label: str, required: bool, max_length: int) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("请填写%(label)s。") % {"label": label})
    if len(value) > max_length:
        raise ValidationError(_("%(label)s不能超过%(max)d个字。") % {"label": label, "max": max_length})
    return value


def _require_worker(actor: Any, patrol: Patrol) -> None:
    """The worker who started the patrol, still assigned to its grid, acts on it; nobody else."""
    if patrol.worker_id != getattr(actor, "pk", None) or not is_grid_worker_of(actor, grid_path=patrol.grid.path):
        raise PatrolForbidden(_("只有开始这次巡查的网格员可以记录巡查。"))


def _locked_open(patrol: Patrol) -> Patrol:
    """Re-read the patrol's row under a lock (serialising its writers) and require it to be open."""
    current = Patrol.objects.select_for_update().only("id", "status").get(pk=patrol.pk)
    patrol.status = current.status
    if current.status != PatrolStatus.OPEN:
        raise PatrolConflict(_("这次巡查已经结束，不能再记录。"))
    return patrol


def route_points_clean(points: Any) -> list[list[float]]:
    """[[lon, lat, unix seconds], …] from the browser: at most `ROUTE_POINTS_MAX`, each a valid WGS84 point."""
    if points in (None, ""):
        return []
    if not isinstance(points, list):
        raise ValidationError(_("巡查轨迹格式不正确。"))
    if len(points) > ROUTE_POINTS_MAX:
        # Keep the whole walk at a coarser step rather than cutting it off.
        step = math.ceil(len(points) / ROUTE_POINTS_MAX)
        points = points[::step][:ROUTE_POINTS_MAX]
    cleaned: list[list[float]] = []
    for point in points:
        if not isinstance(point, list | tuple) or len(point) not in (2, 3):
            raise ValidationError(_("巡查轨迹格式不正确。"))
        try:
            values = [float(value) for value in point]
        except (TypeError, ValueError) as error:
            raise ValidationError(_("巡查轨迹格式不正确。")) from error
        if not all(math.isfinite(value) for value in values):
            raise ValidationError(_("巡查轨迹格式不正确。"))
        lon, lat = values[0], values[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError(_("巡查轨迹中的经纬度超出范围。"))
        cleaned.append([round(lon, 6), round(lat, 6), *([int(values[2])] if len(values) == 3 else [])])
    return cleaned


# --- Start and finish -------------------------------------------------------------------


def patrol_start(*, actor: Any, grid: Area, now: datetime | None = None) -> Patrol:
    """A grid worker starts a patrol of a grid they are assigned to; one open patrol per worker."""
    now = _now(now)
    if grid.level != AreaLevel.GRID:
        raise ValidationError(_("“%(name)s”不是网格，请选择要巡查的网格。") % {"name": grid.name})
    if not is_grid_worker_of(actor, grid_path=grid.path):
        raise PatrolForbidden(_("只能在您负责的网格内开始巡查。"))
    if Patrol.objects.filter(worker_id=actor.pk, status=PatrolStatus.OPEN).exists():
        raise PatrolConflict(_("您还有一次巡查没有结束，请先结束它。"))
    try:
        with transaction.atomic():
            return Patrol.objects.create(worker=actor, grid=grid, started_at=now, status=PatrolStatus.OPEN)
    except IntegrityError as error:
        # A concurrent start (a double tap) committed first.
        raise PatrolConflict(_("您还有一次巡查没有结束，请先结束它。")) from error


@transaction.atomic
def patrol_finish(
    *, actor: Any, patrol: Patrol, notes: str = "", route: Any = None, now: datetime | None = None
) -> Patrol:
    """End the patrol with the day's notes; every finding must be settled or turned into a case first."""
    now = _now(now)
    _require_worker(actor, patrol)
    notes = _text(notes, label=_("巡查记录"), required=False, max_length=NOTES_MAX_LENGTH)
    points = route_points_clean(route)
    _locked_open(patrol)
    pending = PatrolFinding.objects.filter(patrol=patrol, status=FindingStatus.OPEN).count()
    if pending:
        raise PatrolConflict(_("还有%(count)d条发现没有处置：请现场处置或转为事项后再结束巡查。") % {"count": pending})
    patrol.status = PatrolStatus.FINISHED
    patrol.ended_at = max(now, patrol.started_at)
    patrol.notes = notes or patrol.notes
    if points:
        patrol.route = points
    patrol.save(update_fields=["status", "ended_at", "notes", "route"])
    return patrol


# --- On the way -------------------------------------------------------------------------


@transaction.atomic
def patrol_check_record(
    *, actor: Any, patrol: Patrol, item: CheckItem, result: str, note: str = "", now: datetime | None = None
) -> PatrolCheck:
    """Record (or change) the result of one checklist item."""
    now = _now(now)
    _require_worker(actor, patrol)
    if result not in CheckResult.values:
        raise ValidationError(_("未知的检查结果。"))
    if not item.is_active:
        raise ValidationError(_("检查项“%(name)s”已停用。") % {"name": item.name})
    note = _text(note, label=_("说明"), required=False, max_length=200)
    _locked_open(patrol)
    check, _created = PatrolCheck.objects.update_or_create(
        patrol=patrol, item=item, defaults={"result": result, "note": note, "checked_at": now}
    )
    return check


@transaction.atomic
def patrol_visit_add(
    *,
    actor: Any,
    patrol: Patrol,
    household: Household | None = None,
    place: str = "",
    note: str = "",
    now: datetime | None = None,
) -> PatrolVisit:
    """Record a household of the patrol's grid (or another place) as visited; a household counts once."""
    now = _now(now)
    _require_worker(actor, patrol)
    place = _text(place, label=_("地点"), required=household is None, max_length=100)
    note = _text(note, label=_("情况"), required=False, max_length=200)
    if household is not None:
        if household.grid_id != patrol.grid_id:
            raise ValidationError(_("该户不在本次巡查的网格内。"))
        if household.moved_out_on is not None:
            raise ValidationError(_("该户已整户迁出。"))
    _locked_open(patrol)
    if household is not None:
        existing = PatrolVisit.objects.filter(patrol=patrol, household=household).first()
        if existing is not None:
            return existing
    return PatrolVisit.objects.create(patrol=patrol, household=household, place=place, note=note, visited_at=now)


@transaction.atomic
def patrol_visit_remove(*, actor: Any, patrol: Patrol, visit_id: int) -> None:
    _require_worker(actor, patrol)
    _locked_open(patrol)
    PatrolVisit.objects.filter(patrol=patrol, pk=visit_id).delete()


# --- Findings ---------------------------------------------------------------------------


def _point(longitude: float | None, latitude: float | None, patrol: Patrol) -> tuple[float | None, float | None]:
    if longitude is None and latitude is None:
        return None, None
    if longitude is None or latitude is None:
        raise ValidationError(_("经度和纬度需同时填写。"))
    if not (math.isfinite(longitude) and math.isfinite(latitude)):
        raise ValidationError(_("经纬度超出范围。"))
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ValidationError(_("经纬度超出范围。"))
    hit = grid_at(longitude, latitude)
    if hit is None or hit.id != patrol.grid_id:
        raise ValidationError(_("该位置不在本次巡查的网格内，请到现场重新定位，或不填位置。"))
    return round(longitude, 7), round(latitude, 7)


@transaction.atomic
def patrol_finding_add(
    *,
    actor: Any,
    patrol: Patrol,
    category: Category,
    description: str,
    longitude: float | None = None,
    latitude: float | None = None,
    address: str = "",
    check_item: CheckItem | None = None,
    photos: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> PatrolFinding:
    """Record a problem found on the patrol, with its place and photos; it still has to be settled."""
    now = _now(now)
    _require_worker(actor, patrol)
    if not category.is_active:
        raise ValidationError(_("类别“%(name)s”已停用，请选择其他类别。") % {"name": category.name})
    description = _text(description, label=_("问题描述"), required=True, max_length=2000)
    address = _text(address, label=_("地点"), required=False, max_length=200)
    longitude, latitude = _point(longitude, latitude, patrol)
    # Checked and cleaned (EXIF and GPS stripped, size capped) by the case services' rules.
    prepared = attachments_validate(photos)
    _locked_open(patrol)
    finding = PatrolFinding.objects.create(
        patrol=patrol,
        check_item=check_item,
        category=category,
        description=description,
        longitude=longitude,
        latitude=latitude,
        address=address,
        found_at=now,
    )
    for photo in prepared:
        PatrolFindingPhoto.objects.create(
            finding=finding,
            file=photo.content,
            thumbnail=photo.thumbnail or "",
            original_name=photo.original_name,
            content_type=photo.content_type,
            size=photo.size,
        )
    return finding


def _locked_finding(finding: PatrolFinding) -> PatrolFinding:
    current = PatrolFinding.objects.select_for_update().get(pk=finding.pk)
    finding.status, finding.case_id, finding.result = current.status, current.case_id, current.result
    return finding


@transaction.atomic
def patrol_finding_settle(
    *, actor: Any, finding: PatrolFinding, result: str, now: datetime | None = None
) -> PatrolFinding:
    """The problem was settled on the spot: record what was done (小事不出网格)."""
    now = _now(now)
    patrol = finding.patrol
    _require_worker(actor, patrol)
    result = _text(result, label=_("处置结果"), required=True, max_length=2000)
    _locked_open(patrol)
    _locked_finding(finding)
    if finding.status != FindingStatus.OPEN:
        raise PatrolConflict(_("这条发现已经处置过了。"))
    finding.status = FindingStatus.SETTLED
    finding.result = result
    finding.settled_at = now
    finding.save(update_fields=["status", "result", "settled_at"])
    return finding


def finding_idempotency_key(finding: PatrolFinding) -> str:
    return f"patrol-finding-{finding.pk}"


def _case_input(finding: PatrolFinding) -> CaseInput:
    """What the case says: the finding's words, place and category; the same every time for one finding."""
    description = finding.description
    title = description.splitlines()[0][:CASE_TITLE_LENGTH] if description else finding.category.name
    return CaseInput(
        kind=CaseKind.PATROL_FINDING,
        category=finding.category,
        title=title,
        description=description,
        source=CaseSource.PATROL,
        urgency=Urgency.NORMAL,
        longitude=finding.longitude,
        latitude=finding.latitude,
        grid=finding.patrol.grid,
        address=finding.address,
    )


def _photo_uploads(finding: PatrolFinding) -> list[UploadedFile]:
    uploads: list[UploadedFile] = []
    for photo in finding.photos.all():
        with photo.file.open("rb") as handle:
            content = handle.read()
        uploads.append(SimpleUploadedFile(photo.original_name, content, content_type=photo.content_type))
    return uploads


@transaction.atomic
def patrol_finding_to_case(*, actor: Any, finding: PatrolFinding, now: datetime | None = None) -> tuple[Case, bool]:
    """Turn the finding into a case (source 巡查) in one tap; returns (case, created).

    A repeated tap returns the case the first one filed: the finding's row is
    locked while the case is filed, and the case carries a key derived from the finding.
    """
    now = _now(now)
    patrol = finding.patrol
    _require_worker(actor, patrol)
    _locked_finding(finding)
    if finding.case_id is not None:
        return Case.objects.get(pk=finding.case_id), False
    if finding.status != FindingStatus.OPEN:
        raise PatrolConflict(_("这条发现已经现场处置，不需要再转为事项。"))
    _locked_open(patrol)
    uploads = _photo_uploads(finding)
    case, created = case_submit(
        actor=actor,
        data=_case_input(finding),
        idempotency_key=finding_idempotency_key(finding),
        attachments=uploads,
        now=now,
    )
    finding.case = case
    finding.status = FindingStatus.CASE
    finding.settled_at = now
    finding.save(update_fields=["case", "status", "settled_at"])
    return case, created
