"""Every write to households and residents, and the audited reveal of personal data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.accounts.services import audit_record
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.core.db import delete_every_row
from gridgov.registry.access_log import GENESIS_HASH, access_log_append
from gridgov.registry.choices import AccessAction, Relation, Residence, TagTarget
from gridgov.registry.crypto import blind_index, field_decrypt, field_encrypt, keyring
from gridgov.registry.identifiers import id_number_mask, id_number_parse, phone_mask, phone_normalise
from gridgov.registry.models import (
    AccessLogEntry,
    AccessLogHead,
    Household,
    HouseholdVisit,
    RegistryImport,
    Resident,
    Tag,
)

RowT = TypeVar("RowT", Household, Resident)

ID_INDEX_KIND = "id"
PHONE_INDEX_KIND = "phone"


def name_initials(name: str) -> str:
    """Pinyin initials for search (张三丰 → zsf)."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()[:20]


def _check_place(*, grid: Area, microgrid: Area | None, compound: Compound | None, building: Building | None) -> None:
    if grid.level != AreaLevel.GRID:
        raise ValidationError(_("户必须登记在网格下，“%(name)s”不是网格。") % {"name": grid.name})
    if microgrid is not None and (microgrid.level != AreaLevel.MICROGRID or microgrid.parent_id != grid.pk):
        raise ValidationError(_("微网格“%(name)s”不属于该网格。") % {"name": microgrid.name})
    if compound is not None and compound.grid_id != grid.pk:
        raise ValidationError(_("小区“%(name)s”不属于该网格。") % {"name": compound.name})
    if building is not None and building.grid_id != grid.pk:
        raise ValidationError(_("楼栋“%(name)s”不属于该网格。") % {"name": building.name})


def _check_tags(tags: Sequence[Tag], target: str) -> None:
    wrong = [tag.name for tag in tags if tag.target != target]
    if wrong:
        raise ValidationError(_("以下标签不能用于此对象：%(tags)s") % {"tags": "、".join(wrong)})


@dataclass(frozen=True)
class HouseholdSpec:
    grid: Area
    address: str
    microgrid: Area | None = None
    compound: Compound | None = None
    building: Building | None = None
    unit: str = ""
    room: str = ""
    tags: Sequence[Tag] = field(default_factory=tuple)
    notes: str = ""


def _household_from(spec: HouseholdSpec) -> Household:
    _check_place(grid=spec.grid, microgrid=spec.microgrid, compound=spec.compound, building=spec.building)
    address = spec.address.strip()
    if not address:
        raise ValidationError(_("地址不能为空。"))
    _check_tags(spec.tags, TagTarget.HOUSEHOLD)
    return Household(
        grid=spec.grid,
        microgrid=spec.microgrid,
        compound=spec.compound,
        building=spec.building,
        unit=spec.unit.strip(),
        room=spec.room.strip(),
        address=address,
        notes=spec.notes,
    )


@transaction.atomic
def household_create(*, actor: Any, spec: HouseholdSpec) -> Household:
    household = _household_from(spec)
    household.save()
    household.tags.set(spec.tags)
    audit_record(
        actor=actor, action="household_create", object_type="household", object_id=str(household.pk), detail={}
    )
    return household


def _bulk_insert_tagged(
    *, actor: Any, action: str, rows: list[RowT], tags: Sequence[Sequence[Tag]], batch_size: int
) -> list[RowT]:
    """Insert households or residents with their tag links; one audit row for the batch."""
    if not rows:
        return []
    model = type(rows[0])
    created = model._default_manager.bulk_create(rows, batch_size=batch_size)
    through = model.tags.through
    owner_field = f"{model._meta.model_name}_id"
    links = [
        through(**{owner_field: row.pk, "tag_id": tag.pk})
        for row, row_tags in zip(created, tags, strict=True)
        for tag in row_tags
    ]
    through.objects.bulk_create(links, batch_size=batch_size)
    audit_record(
        actor=actor,
        action=action,
        object_type=model._meta.model_name or "",
        object_id=str(created[0].pk),
        detail={"count": len(created)},
    )
    return created


@transaction.atomic
def households_bulk_create(*, actor: Any, specs: Sequence[HouseholdSpec], batch_size: int = 1000) -> list[Household]:
    """Create many households at once (imports, the demo generator); one audit row for the batch."""
    return _bulk_insert_tagged(
        actor=actor,
        action="households_bulk_create",
        rows=[_household_from(spec) for spec in specs],
        tags=[spec.tags for spec in specs],
        batch_size=batch_size,
    )


@dataclass(frozen=True)
class ResidentSpec:
    household: Household
    name: str
    id_number: str
    relation: str = Relation.HEAD
    phone: str = ""
    residence: str = Residence.REGISTERED_LIVING
    is_party_member: bool = False
    employment: str = ""
    tags: Sequence[Tag] = field(default_factory=tuple)
    moved_in_on: date | None = None


def _resident_from(spec: ResidentSpec) -> Resident:
    name = spec.name.strip()
    if not name:
        raise ValidationError(_("姓名不能为空。"))
    if spec.relation not in Relation.values:
        raise ValidationError(_("与户主关系“%(value)s”无效。") % {"value": spec.relation})
    if spec.residence not in Residence.values:
        raise ValidationError(_("人户状态“%(value)s”无效。") % {"value": spec.residence})
    _check_tags(spec.tags, TagTarget.PERSON)
    parsed = id_number_parse(spec.id_number)
    ring = keyring()
    resident = Resident(
        household=spec.household,
        name=name,
        name_initials=name_initials(name),
        id_ciphertext=field_encrypt(parsed.value, field="id"),
        id_index=blind_index(parsed.value, kind=ID_INDEX_KIND),
        id_masked=id_number_mask(parsed.value),
        gender=parsed.gender,
        birth_date=parsed.birth_date,
        key_id=ring.current,
        relation=spec.relation,
        residence=spec.residence,
        is_party_member=spec.is_party_member,
        employment=spec.employment.strip(),
        moved_in_on=spec.moved_in_on,
    )
    if spec.phone.strip():
        phone = phone_normalise(spec.phone)
        resident.phone_ciphertext = field_encrypt(phone, field="phone")
        resident.phone_index = blind_index(phone, kind=PHONE_INDEX_KIND)
        resident.phone_masked = phone_mask(phone)
    return resident


def _refuse_duplicates(residents: Iterable[Resident]) -> None:
    indexes = [resident.id_index for resident in residents]
    if len(set(indexes)) != len(indexes):
        raise ValidationError(_("同一批登记中有重复的身份证号。"))
    taken = Resident.objects.filter(id_index__in=indexes, moved_out_on__isnull=True, died_on__isnull=True)
    if taken.exists():
        raise ValidationError(_("身份证号已登记在其他户中，请先办理迁出。"))


@transaction.atomic
def resident_register(*, actor: Any, spec: ResidentSpec) -> Resident:
    """Register one person in a household (ID checked, encrypted, indexed)."""
    resident = _resident_from(spec)
    _refuse_duplicates([resident])
    resident.save()
    resident.tags.set(spec.tags)
    audit_record(actor=actor, action="resident_register", object_type="resident", object_id=str(resident.pk), detail={})
    return resident


@transaction.atomic
def residents_bulk_register(*, actor: Any, specs: Sequence[ResidentSpec], batch_size: int = 1000) -> list[Resident]:
    """Register many people at once (imports, the demo generator); one audit row for the batch."""
    built = [_resident_from(spec) for spec in specs]
    _refuse_duplicates(built)
    return _bulk_insert_tagged(
        actor=actor,
        action="residents_bulk_register",
        rows=built,
        tags=[spec.tags for spec in specs],
        batch_size=batch_size,
    )


@dataclass(frozen=True)
class Revealed:
    id_number: str
    phone: str


def resident_reveal(*, actor: Any, resident: Resident, purpose: str) -> Revealed:
    """Decrypt a resident's ID number and phone for someone with the reveal right.

    Every reveal, and every refusal, is written to the access log. The caller
    has already fetched `resident` through the scoped selector.
    """
    purpose = purpose.strip()
    if not scope_for(actor, Capability.REVEAL_PERSONAL).covers(resident.household.grid.path):
        # Logged in its own transaction: the refusal must stay recorded although the request fails.
        access_log_append(
            actor=actor,
            action=AccessAction.DENIED,
            object_type="resident",
            object_id=resident.pk,
            purpose=purpose,
            detail={"reason": "no_reveal_right"},
        )
        raise PermissionDenied(_("您没有查看该居民明文信息的权限。"))
    if len(purpose) < 4:
        raise ValidationError(_("请填写查看事由（至少4个字）。"))
    with transaction.atomic():
        revealed = Revealed(
            id_number=field_decrypt(resident.id_ciphertext, field="id"),
            phone=field_decrypt(resident.phone_ciphertext, field="phone") if resident.phone_ciphertext else "",
        )
        access_log_append(
            actor=actor, action=AccessAction.REVEAL, object_type="resident", object_id=resident.pk, purpose=purpose
        )
    return revealed


# ------------------------------------------------------------ demo reset only


@transaction.atomic
def registry_delete_all() -> dict[str, int]:
    """Delete every resident and household with their tag links, imports and the access log.

    Only for replacing a demo database wholesale (`demo_county --reset`).
    The tag catalogue stays: it is migration data. The access log is otherwise
    append-only, but a demo reset replaces all data, so its chain restarts at
    the genesis hash.
    """
    deleted = {
        "registry_imports": RegistryImport.objects.all().delete()[0],
        "access_log_entries": AccessLogEntry.objects.all().delete()[0],
        "resident_tags": Resident.tags.through.objects.all().delete()[0],
        "residents": delete_every_row(Resident),
        "household_tags": Household.tags.through.objects.all().delete()[0],
        "households": delete_every_row(Household),
    }
    AccessLogHead.objects.filter(id=1).update(seq=0, row_hash=GENESIS_HASH)
    return deleted


# ------------------------------------------------------------------ lifecycle
#
# Moving out, recording a death, moving a whole household out, and visits.
# As with registering, the caller has fetched the household or resident
# through the scoped selectors (`household_get_for_user` /
# `resident_get_for_user`): any role whose VIEW_PEOPLE scope covers the
# household may record these (grid workers, community and town staff, the
# county command centre); leaders, department handlers and administrators
# have no people scope and never reach a record. Rows are never deleted:
# a moved-out or dead person keeps their row with the date, so the history
# stays and the ID number may be registered again elsewhere.

VISIT_NOTE_MAX_LENGTH = 2000
LIFECYCLE_REASON_MAX_LENGTH = 200


def _today() -> date:
    return timezone.localdate()


def _lock_current_members(household: Household) -> dict[int, Resident]:
    """The household's current members, locked for the rest of the transaction."""
    members = Resident.objects.select_for_update().filter(
        household_id=household.pk, moved_out_on__isnull=True, died_on__isnull=True
    )
    return {member.pk: member for member in members}


def _hand_over_head(*, leaving: Resident, current: dict[int, Resident], new_head: Resident | None) -> Resident | None:
    """Check the head question when `leaving` leaves; make `new_head` the head if one is needed.

    A head who leaves others behind needs a successor among them. Only the
    successor's relation changes: the others' relations to the new head are
    for the worker to review.
    """
    others = [member for pk, member in current.items() if pk != leaving.pk]
    if leaving.relation != Relation.HEAD or not others:
        if new_head is not None:
            raise ValidationError(_("只有户主迁出或死亡且户内还有其他成员时，才需要指定新户主。"))
        return None
    if new_head is None:
        raise ValidationError(_("该居民是户主，户内还有其他在册成员，请先指定新户主。"))
    successor = current.get(new_head.pk)
    if successor is None or successor.pk == leaving.pk:
        raise ValidationError(_("新户主必须是本户其他在册成员。"))
    successor.relation = Relation.HEAD
    successor.save(update_fields=["relation", "updated_at"])
    new_head.relation = Relation.HEAD
    return successor


def _clean_reason(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise ValidationError(_("请填写迁出原因。"))
    if len(reason) > LIFECYCLE_REASON_MAX_LENGTH:
        raise ValidationError(_("迁出原因不能超过%(limit)s个字。") % {"limit": LIFECYCLE_REASON_MAX_LENGTH})
    return reason


@transaction.atomic
def resident_move_out(
    *, actor: Any, resident: Resident, moved_out_on: date, reason: str, new_head: Resident | None = None
) -> Resident:
    """Record that a person moved out: they leave the current members and the lists, their row stays.

    When the head moves out and others remain, `new_head` (another current
    member) becomes the head; without one the move-out is refused.
    """
    reason = _clean_reason(reason, required=True)
    current = _lock_current_members(resident.household)
    if resident.pk not in current:
        raise ValidationError(_("该居民已迁出或已登记死亡。"))
    if moved_out_on > _today():
        raise ValidationError(_("迁出日期不能晚于今天。"))
    if moved_out_on < resident.birth_date:
        raise ValidationError(_("迁出日期不能早于出生日期。"))
    if resident.moved_in_on is not None and moved_out_on < resident.moved_in_on:
        raise ValidationError(_("迁出日期不能早于迁入日期（%(date)s）。") % {"date": resident.moved_in_on.isoformat()})
    successor = _hand_over_head(leaving=resident, current=current, new_head=new_head)
    resident.moved_out_on = moved_out_on
    resident.save(update_fields=["moved_out_on", "updated_at"])
    audit_record(
        actor=actor,
        action="resident_move_out",
        object_type="resident",
        object_id=str(resident.pk),
        detail={
            "household": resident.household_id,
            "moved_out_on": moved_out_on.isoformat(),
            "reason": reason,
            "new_head": successor.pk if successor else None,
        },
    )
    return resident


@transaction.atomic
def resident_record_death(
    *, actor: Any, resident: Resident, died_on: date, new_head: Resident | None = None
) -> Resident:
    """Record a death: the person leaves the current members and the lists, their row stays.

    The head question is handled as for `resident_move_out`.
    """
    current = _lock_current_members(resident.household)
    if resident.pk not in current:
        raise ValidationError(_("该居民已迁出或已登记死亡。"))
    if died_on > _today():
        raise ValidationError(_("死亡日期不能晚于今天。"))
    if died_on < resident.birth_date:
        raise ValidationError(_("死亡日期不能早于出生日期。"))
    if resident.moved_in_on is not None and died_on < resident.moved_in_on:
        raise ValidationError(_("死亡日期不能早于迁入日期（%(date)s）。") % {"date": resident.moved_in_on.isoformat()})
    successor = _hand_over_head(leaving=resident, current=current, new_head=new_head)
    resident.died_on = died_on
    resident.save(update_fields=["died_on", "updated_at"])
    audit_record(
        actor=actor,
        action="resident_record_death",
        object_type="resident",
        object_id=str(resident.pk),
        detail={
            "household": resident.household_id,
            "died_on": died_on.isoformat(),
            "new_head": successor.pk if successor else None,
        },
    )
    return resident


@transaction.atomic
def household_move_out(*, actor: Any, household: Household, moved_out_on: date, reason: str = "") -> Household:
    """Move a whole household out: the household and every current member get `moved_out_on`.

    The household leaves the lists; its card stays reachable for the record.
    Members already moved out or dead keep their own dates.
    """
    reason = _clean_reason(reason, required=False)
    locked = Household.objects.select_for_update().only("moved_out_on").get(pk=household.pk)
    if locked.moved_out_on is not None:
        raise ValidationError(_("该户已整户迁出。"))
    if moved_out_on > _today():
        raise ValidationError(_("迁出日期不能晚于今天。"))
    current = _lock_current_members(household)
    for member in current.values():
        if moved_out_on < member.birth_date:
            raise ValidationError(_("迁出日期不能早于%(name)s的出生日期。") % {"name": member.name})
        if member.moved_in_on is not None and moved_out_on < member.moved_in_on:
            raise ValidationError(
                _("迁出日期不能早于%(name)s的迁入日期（%(date)s）。")
                % {"name": member.name, "date": member.moved_in_on.isoformat()}
            )
    now = timezone.now()
    # One UPDATE for the members; the audit row below lists them.
    Resident.objects.filter(pk__in=list(current)).update(moved_out_on=moved_out_on, updated_at=now)
    household.moved_out_on = moved_out_on
    household.save(update_fields=["moved_out_on", "updated_at"])
    audit_record(
        actor=actor,
        action="household_move_out",
        object_type="household",
        object_id=str(household.pk),
        detail={"moved_out_on": moved_out_on.isoformat(), "reason": reason, "residents": sorted(current)},
    )
    return household


def households_follow_buildings(*, building_ids: Iterable[int]) -> int:
    """Registered households take the grid and micro-grid of their building, after the building moved
    (re-gridding: `gridgov.areas.gridding_services`); returns how many households were updated.

    Called inside the caller's transaction, which records the move in the audit trail once for the
    whole plan; one UPDATE per call, whatever the number of households.
    """
    ids = sorted(set(building_ids))
    if not ids:
        return 0
    building = Building.objects.filter(pk=OuterRef("building_id"))
    return Household.objects.filter(building_id__in=ids).update(
        grid_id=Subquery(building.values("grid_id")[:1]),
        microgrid_id=Subquery(building.values("microgrid_id")[:1]),
        updated_at=timezone.now(),
    )


@transaction.atomic
def household_visit_record(*, actor: Any, household: Household, visited_on: date, note: str) -> HouseholdVisit:
    """Record a visit to a household (入户走访) by `actor`."""
    note = note.strip()
    if not note:
        raise ValidationError(_("请填写走访情况。"))
    if len(note) > VISIT_NOTE_MAX_LENGTH:
        raise ValidationError(_("走访情况不能超过%(limit)s个字。") % {"limit": VISIT_NOTE_MAX_LENGTH})
    if visited_on > _today():
        raise ValidationError(_("走访日期不能晚于今天。"))
    if household.moved_out_on is not None:
        raise ValidationError(_("该户已整户迁出，不能再登记走访。"))
    visit = HouseholdVisit.objects.create(household=household, visited_on=visited_on, visitor=actor, note=note)
    audit_record(
        actor=actor,
        action="household_visit_record",
        object_type="household",
        object_id=str(household.pk),
        detail={"visit": visit.pk, "visited_on": visited_on.isoformat()},
    )
    return visit
