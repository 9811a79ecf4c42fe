"""Excel import of households and residents: upload, validation, commit.

The flow (statuses are `ImportStatus`):

    registry_import_upload          (request)  check type and header row, store the file
                                               SM4-encrypted → UPLOADED; enqueue validation on commit
    registry_import_validate        (worker)   stream every row, check cells, the file (duplicate
                                               IDs, two heads) and the database (buildings, tags, IDs
                                               registered elsewhere) → VALIDATED with counts and the
                                               first `MAX_STORED_ERRORS` errors, or FAILED
    registry_import_commit_request  (request)  the user's choice → COMMITTING; enqueue the commit
    registry_import_commit          (worker)   stream and check again, then write in chunks → DONE

All or nothing: the whole file in ONE transaction; an error found at commit time (the
database changed since the preview) rolls everything back and the import returns to
VALIDATED with the new errors. Valid rows only: one transaction per chunk of
`CHUNK_ROWS` rows, which also advances `processed_rows`; a re-run after a crash skips
the committed chunks, and the upsert by ID number would make even a full re-run harmless.

Re-import (documented in the template's instructions): residents are matched by the
blind index of their ID number.
- Registered in the household at the row's address → updated in place.
- Registered in another household inside the import area → *moved*: the old row gets
  `moved_out_on` = today (history is kept), a new row is registered in the new household
  with `moved_in_on` = today, carrying what the file leaves blank and the tags the
  uploader cannot see.
- Registered outside the import area → a row error; the uploader cannot move people
  out of households they may not see.
Non-blank cells overwrite, blank optional cells keep the stored value. Tags the
uploader may not see (sensitive groups) can neither be written nor removed by them.
Nobody is moved out because they are missing from the file.

Memory: rows are streamed and handled per chunk; what is kept for the whole file is
one dict entry per ID number (duplicate check) and per household address.
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.services import audit_record
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.registry.choices import ImportMode, ImportStatus, Relation, Residence, TagTarget
from gridgov.registry.crypto import (
    DecryptionError,
    blind_index,
    field_decrypt,
    field_encrypt,
    keyring,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)
from gridgov.registry.excel import (
    COLUMN_INDEX,
    HEADER_BY_KEY,
    PARTY_VALUES,
    RowReader,
    WorkbookError,
    cell_text,
    relation_values,
    residence_values,
    split_tags,
)
from gridgov.registry.identifiers import id_number_parse, phone_mask, phone_normalise
from gridgov.registry.models import Household, RegistryImport, Resident, Tag
from gridgov.registry.selectors import hidden_tag_ids_for, people_scope
from gridgov.registry.services import (
    ID_INDEX_KIND,
    PHONE_INDEX_KIND,
    HouseholdSpec,
    ResidentSpec,
    households_bulk_create,
    name_initials,
    residents_bulk_register,
)

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
CHUNK_ROWS = 2_000
MAX_STORED_ERRORS = 1_000
IMPORT_LEVELS = (AreaLevel.GRID, AreaLevel.COMMUNITY)
# Imports left unfinished this long are cancelled and their file dropped.
STALE_AFTER = timedelta(days=7)

ACTIVE_STATUSES = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.COMMITTING)
FINISHED_STATUSES = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)

_MAX_LENGTHS = {"address": 200, "unit": 10, "room": 20, "name": 50, "employment": 100}
_REQUIRED = ("address", "name", "id_number", "relation")
# Resident columns an import may change on a registered person (the ID-derived ones never change).
_UPDATED_FIELDS = [
    "name",
    "name_initials",
    "relation",
    "phone_ciphertext",
    "phone_index",
    "phone_masked",
    "residence",
    "is_party_member",
    "employment",
    "updated_at",
]


def max_rows() -> int:
    """Data rows accepted in one file (`REGISTRY_IMPORT_MAX_ROWS` overrides it, e.g. in tests)."""
    return int(getattr(settings, "REGISTRY_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


# ------------------------------------------------------------ stored file


_CONTENT_AAD = b"registry_import:"


def _seal(content: bytes) -> bytes:
    """The uploaded file holds plaintext ID numbers: store it SM4-GCM encrypted, like the fields."""
    ring = keyring()
    key_id = ring.current
    blob = sm4_gcm_encrypt(ring.keys[key_id], content, associated_data=_CONTENT_AAD + key_id.encode())
    return key_id.encode("ascii") + b":" + blob


def _unseal(sealed: bytes) -> bytes:
    key_id, sep, blob = bytes(sealed).partition(b":")
    ring = keyring()
    name = key_id.decode("ascii", "replace")
    if not sep or name not in ring.keys:
        raise DecryptionError(f"unknown key id {name!r}")
    return sm4_gcm_decrypt(ring.keys[name], blob, associated_data=_CONTENT_AAD + key_id)


# ------------------------------------------------------------------ reads


def registry_import_get_for_user(user: Any, import_id: int) -> RegistryImport:
    """One of the user's own imports of an area still in their scope; 404 otherwise."""
    registry_import = (
        RegistryImport.objects.defer("content").select_related("area").filter(pk=import_id, created_by=user).first()
    )
    if registry_import is None or not people_scope(user).covers(registry_import.area.path):
        raise Http404(_("记录不存在或无权查看。"))
    return registry_import


def registry_import_list_for_user(user: Any, *, limit: int = 20) -> QuerySet[RegistryImport]:
    """The user's recent imports (without the file content)."""
    return (
        RegistryImport.objects.defer("content")
        .select_related("area")
        .filter(created_by=user, created_at__gte=timezone.now() - timedelta(days=90))
        .order_by("-created_at")[:limit]
    )


def import_areas_for_user(user: Any) -> QuerySet[Area]:
    """Grids and communities the user may import into."""
    return people_scope(user).filter(Area.objects.filter(level__in=IMPORT_LEVELS)).order_by("path")


# ----------------------------------------------------------------- upload


def _check_area(actor: Any, area: Area) -> None:
    if not people_scope(actor).covers(area.path):
        raise PermissionDenied(_("您无权向该区域导入实有人口。"))
    if area.level not in IMPORT_LEVELS:
        raise ValidationError(_("只能按网格或社区导入，“%(name)s”不是网格或社区。") % {"name": area.name})


def registry_import_upload(
    *, actor: Any, area: Area, filename: str, content: bytes, mode: str = ImportMode.ALL_OR_NOTHING
) -> RegistryImport:
    """Check the file (type, size, header row) and store it for the worker to validate.

    A refused file leaves nothing behind: the ValidationError carries the reason in Chinese.
    """
    _check_area(actor, area)
    if mode not in ImportMode.values:
        raise ValidationError(_("导入方式无效。"))
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("文件大小为%(size).1f MB，超过了%(limit)d MB的上限。请按网格拆分后分批上传。")
            % {"size": len(content) / 1024 / 1024, "limit": MAX_UPLOAD_BYTES // 1024 // 1024}
        )
    try:
        with RowReader(content) as reader:
            declared = reader.declared_rows
    except WorkbookError as error:
        raise ValidationError(str(error)) from error
    from gridgov.registry.tasks import registry_import_validate_task

    with transaction.atomic():
        registry_import = RegistryImport.objects.create(
            area=area,
            created_by=actor,
            filename=(filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload.xlsx")[:200],
            content=_seal(content),
            mode=mode,
            total_rows=declared or 0,
        )
        audit_record(
            actor=actor,
            action="registry_import_upload",
            object_type="registry_import",
            object_id=str(registry_import.pk),
            detail={"area": area.code, "bytes": len(content)},
        )
        import_id = registry_import.pk
        transaction.on_commit(lambda: registry_import_validate_task.enqueue(import_id))
    return registry_import


# ------------------------------------------------------- checking the rows


HouseholdKey = tuple[int, int | None, int | None, str, str, str]  # grid, compound, building, unit, room, address


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@dataclass(frozen=True)
class _Place:
    grid_id: int
    microgrid_id: int | None
    compound_id: int | None
    building_id: int | None


@dataclass(frozen=True)
class _Row:
    number: int
    key: HouseholdKey
    place: _Place
    unit: str
    room: str
    address: str
    household_tag_ids: frozenset[int] | None  # None: the cell is blank
    name: str
    id_number: str
    id_index: str
    relation: str
    phone: str
    residence: str | None
    party: bool | None
    employment: str | None
    person_tag_ids: frozenset[int] | None


@dataclass(frozen=True)
class _Existing:
    """The current (living, not moved-out) resident, inside the import area, with a file row's ID number."""

    pk: int
    household_key: HouseholdKey | None  # None when the household itself is moved out


class _Context:
    """What every row is checked against, read once per pass."""

    def __init__(self, registry_import: RegistryImport) -> None:
        self.registry_import = registry_import
        self.area = area = registry_import.area
        self.actor = registry_import.created_by
        self.is_grid = area.level == AreaLevel.GRID
        self.grids = {a.pk: a for a in Area.objects.filter(path__startswith=area.path, level=AreaLevel.GRID)}
        self.microgrids = {a.pk: a for a in Area.objects.filter(path__startswith=area.path, level=AreaLevel.MICROGRID)}
        self.compounds = {c.pk: c for c in Compound.objects.filter(grid__path__startswith=area.path)}
        self.buildings = {b.pk: b for b in Building.objects.filter(grid__path__startswith=area.path)}
        self.by_building: dict[tuple[str, str], list[_Place]] = {}
        for building in self.buildings.values():
            compound = self.compounds.get(building.compound_id) if building.compound_id else None
            place = _Place(
                grid_id=building.grid_id,
                microgrid_id=building.microgrid_id or (compound.microgrid_id if compound else None),
                compound_id=building.compound_id,
                building_id=building.pk,
            )
            self.by_building.setdefault((_fold(compound.name) if compound else "", _fold(building.name)), []).append(
                place
            )
        self.by_compound: dict[str, list[_Place]] = {}
        for compound in self.compounds.values():
            self.by_compound.setdefault(_fold(compound.name), []).append(
                _Place(
                    grid_id=compound.grid_id,
                    microgrid_id=compound.microgrid_id,
                    compound_id=compound.pk,
                    building_id=None,
                )
            )
        self.hidden_tag_ids = hidden_tag_ids_for(self.actor, area.path)
        self.tags = {tag.pk: tag for tag in Tag.objects.all()}
        visible = [tag for tag in self.tags.values() if tag.pk not in self.hidden_tag_ids]
        self.household_tags = {_fold(t.name): t.pk for t in visible if t.target == TagTarget.HOUSEHOLD}
        self.person_tags = {_fold(t.name): t.pk for t in visible if t.target == TagTarget.PERSON}
        self.relations = relation_values() | {value: value for value in Relation.values}
        self.residences = residence_values() | {value: value for value in Residence.values}


class _Errors:
    """Row errors: every row counted, the first `MAX_STORED_ERRORS` kept for the preview."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.rows = 0
        self._last_row = 0

    def add(self, row: int, column: str, message: str) -> None:
        if row != self._last_row:
            self.rows += 1
            self._last_row = row
        if len(self.items) < MAX_STORED_ERRORS:
            self.items.append({"row": row, "column": HEADER_BY_KEY.get(column, ""), "message": message})


@dataclass
class _FileState:
    """What must be remembered across the whole file (one entry per ID and per household)."""

    ids: dict[str, int] = field(default_factory=dict)  # normalised ID number → first row
    heads: dict[HouseholdKey, int] = field(default_factory=dict)
    household_tags: dict[HouseholdKey, tuple[int, frozenset[int]]] = field(default_factory=dict)


class TooManyRows(Exception):
    pass


def _tags(text: str, catalogue: dict[str, int], column: str, errors: list[tuple[str, str]]) -> frozenset[int]:
    found: set[int] = set()
    unknown: list[str] = []
    for name in split_tags(text):
        tag_id = catalogue.get(_fold(name))
        if tag_id is None:
            unknown.append(name)
        else:
            found.add(tag_id)
    if unknown:
        errors.append((column, _("未知的标签：%(tags)s。请使用“标签清单”中的名称。") % {"tags": "、".join(unknown)}))
    return frozenset(found)


def _place(ctx: _Context, compound: str, building: str, errors: list[tuple[str, str]]) -> _Place | None:
    if not compound and not building:
        if ctx.is_grid:
            return _Place(grid_id=ctx.area.pk, microgrid_id=None, compound_id=None, building_id=None)
        errors.append(("compound", _("按社区导入时必须填写小区（和楼栋），以确定该户所在的网格。")))
        return None
    if building:
        places = ctx.by_building.get((_fold(compound), _fold(building)), [])
        if not places:
            errors.append(
                (
                    "building",
                    _("在导入范围“%(area)s”内找不到小区“%(compound)s”的楼栋“%(building)s”。")
                    % {"area": ctx.area.name, "compound": compound or _("（空）"), "building": building},
                )
            )
            return None
    else:
        places = ctx.by_compound.get(_fold(compound), [])
        if not places:
            errors.append(
                (
                    "compound",
                    _("在导入范围“%(area)s”内找不到小区“%(compound)s”。")
                    % {"area": ctx.area.name, "compound": compound},
                )
            )
            return None
    if len(places) > 1:
        errors.append(("building", _("导入范围内有多个同名的小区/楼栋，无法确定网格。请按网格分别导入。")))
        return None
    return places[0]


def _parse(ctx: _Context, number: int, values: tuple[Any, ...], errors: list[tuple[str, str]]) -> _Row | None:
    """Check one row by itself; None when it has errors (appended to `errors`)."""
    text = {key: cell_text(values[index]) for key, index in COLUMN_INDEX.items()}
    for key in _REQUIRED:
        if not text[key]:
            errors.append((key, _("“%(column)s”不能为空。") % {"column": HEADER_BY_KEY[key]}))
    for key, limit in _MAX_LENGTHS.items():
        if len(text[key]) > limit:
            errors.append((key, _("“%(column)s”不能超过%(n)d个字。") % {"column": HEADER_BY_KEY[key], "n": limit}))
    place = _place(ctx, text["compound"], text["building"], errors)

    id_number = ""
    raw_id = values[COLUMN_INDEX["id_number"]]
    if isinstance(raw_id, float):
        errors.append(
            (
                "id_number",
                _("身份证号被Excel存成了数字，后几位已经丢失。请把“身份证号”列设为文本格式，重新输入后上传。"),
            )
        )
    elif text["id_number"]:
        try:
            id_number = id_number_parse(text["id_number"]).value
        except ValidationError as error:
            errors.append(("id_number", " ".join(error.messages)))

    relation = ctx.relations.get(text["relation"], "")
    if text["relation"] and not relation:
        errors.append(
            (
                "relation",
                _("与户主关系“%(value)s”无效，应为：%(choices)s。")
                % {"value": text["relation"], "choices": "、".join(relation_values())},
            )
        )
    phone = ""
    if text["phone"]:
        try:
            phone = phone_normalise(text["phone"])
        except ValidationError as error:
            errors.append(("phone", " ".join(error.messages)))
    residence: str | None = None
    if text["residence"]:
        residence = ctx.residences.get(text["residence"])
        if residence is None:
            errors.append(
                ("residence", _("人户状态“%(value)s”无效，请从下拉列表中选择。") % {"value": text["residence"]})
            )
    party: bool | None = None
    if text["party"]:
        party = PARTY_VALUES.get(text["party"])
        if party is None:
            errors.append(("party", _("党员一栏应填写“是”或“否”，收到“%(value)s”。") % {"value": text["party"]}))
    household_tags = (
        _tags(text["household_tags"], ctx.household_tags, "household_tags", errors) if text["household_tags"] else None
    )
    person_tags = _tags(text["person_tags"], ctx.person_tags, "person_tags", errors) if text["person_tags"] else None
    if errors or place is None or not id_number:
        return None
    return _Row(
        number=number,
        key=(place.grid_id, place.compound_id, place.building_id, text["unit"], text["room"], text["address"]),
        place=place,
        unit=text["unit"],
        room=text["room"],
        address=text["address"],
        household_tag_ids=household_tags,
        name=text["name"],
        id_number=id_number,
        id_index=blind_index(id_number, kind=ID_INDEX_KIND),
        relation=relation,
        phone=phone,
        residence=residence,
        party=party,
        employment=text["employment"] or None,
        person_tag_ids=person_tags,
    )


def _check_in_file(row: _Row, state: _FileState, errors: list[tuple[str, str]]) -> None:
    first = state.ids.setdefault(row.id_number, row.number)
    if first != row.number:
        errors.append(("id_number", _("身份证号与第%(row)d行重复：同一人在文件中只能出现一次。") % {"row": first}))
    if row.relation == Relation.HEAD:
        head = state.heads.setdefault(row.key, row.number)
        if head != row.number:
            errors.append(("relation", _("同一户已有户主（第%(row)d行），一户只能有一位户主。") % {"row": head}))
    if row.household_tag_ids is not None:
        seen = state.household_tags.setdefault(row.key, (row.number, row.household_tag_ids))
        if seen[1] != row.household_tag_ids:
            errors.append(
                ("household_tags", _("同一户各行的户标签不一致（第%(row)d行与本行不同）。") % {"row": seen[0]})
            )


def _existing_for(rows: list[_Row]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for record in Resident.objects.filter(
        id_index__in=[row.id_index for row in rows], moved_out_on__isnull=True
    ).values(
        "pk",
        "id_index",
        "died_on",
        "household__grid__path",
        "household__grid_id",
        "household__compound_id",
        "household__building_id",
        "household__unit",
        "household__room",
        "household__address",
        "household__moved_out_on",
    ):
        found.setdefault(record["id_index"], []).append(record)
    return found


def _check_against_database(rows: list[_Row], ctx: _Context, report: Any) -> tuple[list[_Row], dict[str, _Existing]]:
    """Rows still valid after the database checks, and the current resident of each ID."""
    found = _existing_for(rows)
    valid: list[_Row] = []
    existing: dict[str, _Existing] = {}
    for row in rows:
        records = found.get(row.id_index, [])
        living = [r for r in records if r["died_on"] is None]
        if not living:
            if records:
                report(row.number, "id_number", _("该身份证号对应的居民已登记死亡，不能导入。"))
                continue
            valid.append(row)
            continue
        record = living[0]
        in_area = str(record["household__grid__path"]).startswith(ctx.area.path)
        if not in_area:
            report(
                row.number,
                "id_number",
                _("该身份证号已登记在本次导入范围以外的户中，请联系所在网格办理迁出后再导入。"),
            )
            continue
        key: HouseholdKey | None = None
        if record["household__moved_out_on"] is None:
            key = (
                record["household__grid_id"],
                record["household__compound_id"],
                record["household__building_id"],
                record["household__unit"],
                record["household__room"],
                record["household__address"],
            )
        existing[row.id_index] = _Existing(pk=record["pk"], household_key=key)
        valid.append(row)
    return valid, existing


@dataclass
class _Chunk:
    valid: list[_Row]
    existing: dict[str, _Existing]
    rows_seen: int  # data rows read so far, this chunk included


def _checked_chunks(
    content: bytes, ctx: _Context, errors: _Errors, *, skip_until: int = 0, limit: int | None = None
) -> Iterator[_Chunk]:
    """Stream the file in chunks of `CHUNK_ROWS` data rows, every row checked.

    Chunk boundaries depend only on the file, so a re-run meets the same
    chunks; chunks ending at or before `skip_until` rows are checked against
    the file only (for the duplicate checks) and not against the database.
    """
    state = _FileState()
    limit = max_rows() if limit is None else limit
    seen = 0
    pending: list[_Row] = []
    with RowReader(content) as reader:
        for number, values in reader:
            seen += 1
            if seen > limit:
                raise TooManyRows
            row_errors: list[tuple[str, str]] = []
            row = _parse(ctx, number, values, row_errors)
            if row is not None:
                _check_in_file(row, state, row_errors)
            elif row_errors:
                _remember_id(values, number, state)
            for column, message in row_errors:
                errors.add(number, column, message)
            if row is not None and not row_errors:
                pending.append(row)
            if seen % CHUNK_ROWS == 0:
                yield _finish_chunk(pending, ctx, errors, seen, skip=seen <= skip_until)
                pending = []
    if seen % CHUNK_ROWS or not seen:
        yield _finish_chunk(pending, ctx, errors, seen, skip=seen <= skip_until and seen > 0)


def _remember_id(values: tuple[Any, ...], number: int, state: _FileState) -> None:
    """A row with other errors still claims its ID number, so a later copy is reported as a duplicate."""
    raw = values[COLUMN_INDEX["id_number"]]
    if raw is not None and not isinstance(raw, float) and cell_text(raw):
        with contextlib.suppress(ValidationError):
            state.ids.setdefault(id_number_parse(cell_text(raw)).value, number)


def _finish_chunk(pending: list[_Row], ctx: _Context, errors: _Errors, seen: int, *, skip: bool) -> _Chunk:
    if skip or not pending:
        return _Chunk(valid=[] if skip else pending, existing={}, rows_seen=seen)
    valid, existing = _check_against_database(pending, ctx, errors.add)
    return _Chunk(valid=valid, existing=existing, rows_seen=seen)


# ------------------------------------------------------------- validation


def _fail(import_id: int, message: str) -> None:
    RegistryImport.objects.filter(pk=import_id).exclude(status__in=FINISHED_STATUSES).update(
        status=ImportStatus.FAILED, message=message, content=b"", finished_at=timezone.now()
    )


def _too_many_rows_message() -> str:
    return _("文件中的人员数据超过%(n)s行的上限，未导入任何数据。请按网格或楼栋拆分为多个文件后分批上传。") % {
        "n": f"{max_rows():,}"
    }


def _load(import_id: int, status: str) -> tuple[RegistryImport, bytes] | None:
    registry_import = RegistryImport.objects.select_related("area", "created_by").filter(pk=import_id).first()
    if registry_import is None or registry_import.status != status:
        return None
    try:
        return registry_import, _unseal(registry_import.content)
    except DecryptionError:
        _fail(import_id, _("上传的文件无法解密（密钥已更换），请重新上传。"))
        return None


def registry_import_validate(import_id: int) -> None:
    """Worker: check every row and store the preview (counts, first errors). Idempotent."""
    claimed = RegistryImport.objects.filter(
        pk=import_id, status__in=[ImportStatus.UPLOADED, ImportStatus.VALIDATING]
    ).update(status=ImportStatus.VALIDATING, processed_rows=0)
    if not claimed:
        return
    loaded = _load(import_id, ImportStatus.VALIDATING)
    if loaded is None:
        return
    registry_import, content = loaded
    try:
        _validate(registry_import, content)
    except TooManyRows:
        _fail(import_id, _too_many_rows_message())
    except WorkbookError as error:
        _fail(import_id, str(error))
    except Exception:
        logger.exception("registry import %s: validation failed", import_id)
        _fail(import_id, _("校验时发生内部错误，未导入任何数据。请稍后重试或联系管理员。"))
        raise


def _validate(registry_import: RegistryImport, content: bytes) -> None:
    ctx = _Context(registry_import)
    errors = _Errors()
    new = updated = moved = 0
    seen = 0
    estimate = registry_import.total_rows
    for chunk in _checked_chunks(content, ctx, errors):
        seen = chunk.rows_seen
        for row in chunk.valid:
            current = chunk.existing.get(row.id_index)
            if current is None:
                new += 1
            else:
                updated += 1
                moved += current.household_key != row.key
        still_running = RegistryImport.objects.filter(pk=registry_import.pk, status=ImportStatus.VALIDATING).update(
            processed_rows=seen, total_rows=max(estimate, seen)
        )
        if not still_running:  # cancelled meanwhile
            return
    if seen == 0:
        message = _("文件中没有人员数据（表头以下全是空行）。")
    else:
        message = _("预计新增%(new)d人，更新%(updated)d人（其中%(moved)d人从本范围内其他户迁入）。") % {
            "new": new,
            "updated": updated,
            "moved": moved,
        }
    RegistryImport.objects.filter(pk=registry_import.pk, status=ImportStatus.VALIDATING).update(
        status=ImportStatus.VALIDATED,
        total_rows=seen,
        processed_rows=seen,
        error_rows=errors.rows,
        errors=errors.items,
        created_count=new,
        updated_count=updated,
        message=message,
    )


# ---------------------------------------------------------------- commit


def registry_import_commit_request(*, actor: Any, registry_import: RegistryImport, mode: str) -> None:
    """The user's choice after the preview: start the commit in the worker."""
    _check_area(actor, registry_import.area)
    if mode not in ImportMode.values:
        raise ValidationError(_("导入方式无效。"))
    current = RegistryImport.objects.defer("content").get(pk=registry_import.pk)
    if current.status != ImportStatus.VALIDATED:
        raise ValidationError(
            _("该导入的状态为“%(status)s”，只有校验完成的导入才能提交。") % {"status": current.get_status_display()}
        )
    if mode == ImportMode.ALL_OR_NOTHING and current.error_rows:
        raise ValidationError(
            _("文件中有%(n)d行错误，不能全部导入。请修正后重新上传，或选择“只导入无错误的行”。")
            % {"n": current.error_rows}
        )
    if current.total_rows - current.error_rows <= 0:
        raise ValidationError(_("没有可导入的行。"))
    from gridgov.registry.tasks import registry_import_commit_task

    with transaction.atomic():
        started = RegistryImport.objects.filter(pk=current.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.COMMITTING, mode=mode, processed_rows=0, created_count=0, updated_count=0, message=""
        )
        if not started:
            raise ValidationError(_("该导入已在处理中。"))
        audit_record(
            actor=actor,
            action="registry_import_commit",
            object_type="registry_import",
            object_id=str(current.pk),
            detail={"mode": mode},
        )
        import_id = current.pk
        transaction.on_commit(lambda: registry_import_commit_task.enqueue(import_id))


def registry_import_cancel(*, actor: Any, registry_import: RegistryImport) -> bool:
    """Drop an import that has not started writing; its file is deleted."""
    _check_area(actor, registry_import.area)
    with transaction.atomic():
        cancelled = RegistryImport.objects.filter(
            pk=registry_import.pk,
            status__in=[ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALIDATED],
        ).update(status=ImportStatus.CANCELLED, content=b"", finished_at=timezone.now(), message=_("已取消。"))
        if cancelled:
            audit_record(
                actor=actor,
                action="registry_import_cancel",
                object_type="registry_import",
                object_id=str(registry_import.pk),
                detail={},
            )
    return bool(cancelled)


class _Rollback(Exception):
    pass


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    moved: int = 0


def registry_import_commit(import_id: int) -> None:
    """Worker: write the rows the user chose. Safe to run again after a crash."""
    loaded = _load(import_id, ImportStatus.COMMITTING)
    if loaded is None:
        return
    registry_import, content = loaded
    if not people_scope(registry_import.created_by).covers(registry_import.area.path):
        _fail(import_id, _("上传人已没有该区域的权限，未导入任何数据。"))
        return
    try:
        if registry_import.mode == ImportMode.ALL_OR_NOTHING:
            _commit_all_or_nothing(registry_import, content)
        else:
            _commit_valid_rows(registry_import, content)
    except Exception:
        logger.exception("registry import %s: commit failed", import_id)
        if registry_import.mode == ImportMode.ALL_OR_NOTHING:
            message = _("导入时发生内部错误，已全部撤销，未写入任何数据。请稍后重试或联系管理员。")
        else:
            message = _(
                "导入时发生内部错误而中断，已导入的部分保留。重新上传同一文件即可继续：已导入的人员会被更新，不会重复。"
            )
        _fail(import_id, message)
        raise


def _done_message(counts: _Counts, errors: _Errors) -> str:
    message = _("导入完成：新增%(created)d人，更新%(updated)d人。") % {
        "created": counts.created,
        "updated": counts.updated,
    }
    if errors.rows:
        message += _("有错误的%(n)d行未导入。") % {"n": errors.rows}
    return message


def _commit_all_or_nothing(registry_import: RegistryImport, content: bytes) -> None:
    ctx = _Context(registry_import)
    writer = _Writer(ctx)
    errors = _Errors()
    counts = _Counts()
    seen = 0
    try:
        with transaction.atomic():
            for chunk in _checked_chunks(content, ctx, errors):
                seen = chunk.rows_seen
                if errors.rows:
                    continue  # keep reading to report every error; nothing more is written
                writer.write(chunk, counts)
            if errors.rows:
                raise _Rollback
            finished = RegistryImport.objects.filter(pk=registry_import.pk, status=ImportStatus.COMMITTING).update(
                status=ImportStatus.DONE,
                processed_rows=seen,
                total_rows=seen,
                created_count=counts.created,
                updated_count=counts.updated,
                content=b"",
                finished_at=timezone.now(),
                message=_done_message(counts, errors),
            )
            if not finished:
                raise _Rollback
    except _Rollback:
        RegistryImport.objects.filter(pk=registry_import.pk, status=ImportStatus.COMMITTING).update(
            status=ImportStatus.VALIDATED,
            mode=ImportMode.ALL_OR_NOTHING,
            processed_rows=seen,
            error_rows=errors.rows,
            errors=errors.items,
            created_count=0,
            updated_count=0,
            message=_("导入时发现新的错误（校验之后数据库中的数据有变化），已全部撤销，未写入任何数据。"),
        )


def _commit_valid_rows(registry_import: RegistryImport, content: bytes) -> None:
    ctx = _Context(registry_import)
    writer = _Writer(ctx)
    errors = _Errors()
    resume = registry_import.processed_rows
    seen = 0
    for chunk in _checked_chunks(content, ctx, errors, skip_until=resume):
        seen = chunk.rows_seen
        if seen <= resume:
            continue
        counts = _Counts()
        with transaction.atomic():
            writer.write(chunk, counts)
            advanced = RegistryImport.objects.filter(pk=registry_import.pk, status=ImportStatus.COMMITTING).update(
                processed_rows=seen,
                created_count=F("created_count") + counts.created,
                updated_count=F("updated_count") + counts.updated,
            )
            if not advanced:
                raise _Rollback
    final = RegistryImport.objects.defer("content").get(pk=registry_import.pk)
    RegistryImport.objects.filter(pk=registry_import.pk, status=ImportStatus.COMMITTING).update(
        status=ImportStatus.DONE,
        processed_rows=seen,
        total_rows=seen,
        error_rows=errors.rows,
        errors=errors.items,
        content=b"",
        finished_at=timezone.now(),
        message=_done_message(_Counts(created=final.created_count, updated=final.updated_count), errors),
    )


class _Writer:
    """Writes checked chunks: households found or created by address, residents upserted by ID."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.household_ids: dict[HouseholdKey, int] = {}
        self.tagged: set[HouseholdKey] = set()
        self.today = timezone.localdate()

    # -- households

    def _households(self, rows: list[_Row]) -> dict[HouseholdKey, int]:
        ctx = self.ctx
        missing = {row.key: row for row in rows if row.key not in self.household_ids}
        if missing:
            for pk, grid_id, compound_id, building_id, unit, room, address in (
                Household.objects.filter(
                    grid_id__in={key[0] for key in missing},
                    address__in={key[5] for key in missing},
                    moved_out_on__isnull=True,
                )
                .order_by("pk")
                .values_list("pk", "grid_id", "compound_id", "building_id", "unit", "room", "address")
            ):
                self.household_ids.setdefault((grid_id, compound_id, building_id, unit, room, address), pk)
            to_create = [row for key, row in missing.items() if key not in self.household_ids]
            if to_create:
                tags_by_key = {row.key: row.household_tag_ids for row in rows if row.household_tag_ids is not None}
                specs = [
                    HouseholdSpec(
                        grid=ctx.grids[row.place.grid_id],
                        microgrid=ctx.microgrids.get(row.place.microgrid_id) if row.place.microgrid_id else None,
                        compound=ctx.compounds[row.place.compound_id] if row.place.compound_id else None,
                        building=ctx.buildings[row.place.building_id] if row.place.building_id else None,
                        unit=row.unit,
                        room=row.room,
                        address=row.address,
                        tags=[ctx.tags[pk] for pk in sorted(tags_by_key.get(row.key, ()))],
                    )
                    for row in to_create
                ]
                created = households_bulk_create(actor=ctx.actor, specs=specs)
                for row, household in zip(to_create, created, strict=True):
                    self.household_ids[row.key] = household.pk
                    if row.key in tags_by_key:
                        self.tagged.add(row.key)
        # Household tags of households that existed (or were created without tags in an earlier chunk).
        retag: dict[int, frozenset[int]] = {}
        for row in rows:
            if row.household_tag_ids is not None and row.key not in self.tagged:
                retag[self.household_ids[row.key]] = row.household_tag_ids
                self.tagged.add(row.key)
        if retag:
            self._replace_tags(Household.tags.through, "household_id", retag)
        return self.household_ids

    def _replace_tags(self, through: Any, owner: str, wanted: dict[int, frozenset[int]]) -> None:
        """Set the visible tags of each owner; tags the uploader cannot see stay as they are."""
        through.objects.filter(**{f"{owner}__in": list(wanted)}).exclude(tag_id__in=self.ctx.hidden_tag_ids).delete()
        through.objects.bulk_create(
            [through(**{owner: owner_id, "tag_id": tag_id}) for owner_id, tags in wanted.items() for tag_id in tags],
            ignore_conflicts=True,
        )

    # -- residents

    def write(self, chunk: _Chunk, counts: _Counts) -> None:
        if not chunk.valid:
            return
        ctx = self.ctx
        households = self._households(chunk.valid)
        new_specs: list[ResidentSpec] = []
        updates: dict[int, _Row] = {}
        moves: dict[int, _Row] = {}
        for row in chunk.valid:
            current = chunk.existing.get(row.id_index)
            if current is None:
                new_specs.append(self._spec(row, households[row.key]))
            elif current.household_key == row.key:
                updates[current.pk] = row
            else:
                moves[current.pk] = row
        if moves:
            new_specs.extend(self._move_out(moves, households))
        if new_specs:
            residents_bulk_register(actor=ctx.actor, specs=new_specs)
        if updates:
            self._update(updates)
        counts.created += len(new_specs) - len(moves)
        counts.updated += len(updates) + len(moves)
        counts.moved += len(moves)
        audit_record(
            actor=ctx.actor,
            action="registry_import_chunk",
            object_type="registry_import",
            object_id=str(ctx.registry_import.pk),
            detail={
                "rows": chunk.rows_seen,
                "created": len(new_specs) - len(moves),
                "updated": len(updates),
                "moved": len(moves),
            },
        )

    def _spec(
        self, row: _Row, household_id: int, *, moved_in: date | None = None, old: Resident | None = None
    ) -> ResidentSpec:
        ctx = self.ctx
        if old is None:
            tags = row.person_tag_ids or frozenset()
            phone, residence, party, employment = row.phone, row.residence, row.party, row.employment
        else:
            old_tags = {tag.pk for tag in old.tags.all()}
            kept_hidden = old_tags & ctx.hidden_tag_ids
            tags = (row.person_tag_ids | kept_hidden) if row.person_tag_ids is not None else frozenset(old_tags)
            phone = row.phone or (field_decrypt(old.phone_ciphertext, field="phone") if old.phone_ciphertext else "")
            residence = row.residence or old.residence
            party = row.party if row.party is not None else old.is_party_member
            employment = row.employment if row.employment is not None else old.employment
        return ResidentSpec(
            household=Household(pk=household_id),
            name=row.name,
            id_number=row.id_number,
            relation=row.relation,
            phone=phone,
            residence=residence or Residence.REGISTERED_LIVING,
            is_party_member=bool(party),
            employment=employment or "",
            tags=[ctx.tags[pk] for pk in sorted(tags)],
            moved_in_on=moved_in,
        )

    def _move_out(self, moves: dict[int, _Row], households: dict[HouseholdKey, int]) -> list[ResidentSpec]:
        old_rows = {r.pk: r for r in Resident.objects.filter(pk__in=list(moves)).prefetch_related("tags")}
        specs = [
            self._spec(row, households[row.key], moved_in=self.today, old=old_rows[pk]) for pk, row in moves.items()
        ]
        Resident.objects.filter(pk__in=list(moves), moved_out_on__isnull=True).update(
            moved_out_on=self.today, updated_at=timezone.now()
        )
        audit_record(
            actor=self.ctx.actor,
            action="residents_move_out",
            object_type="resident",
            object_id=str(min(moves)),
            detail={"count": len(moves), "import": self.ctx.registry_import.pk, "residents": sorted(moves)},
        )
        return specs

    def _update(self, updates: dict[int, _Row]) -> None:
        now = timezone.now()
        residents = list(Resident.objects.filter(pk__in=list(updates)).only("pk", *_UPDATED_FIELDS))
        for resident in residents:
            row = updates[resident.pk]
            resident.name = row.name
            resident.name_initials = name_initials(row.name)
            resident.relation = row.relation
            if row.phone:
                index = blind_index(row.phone, kind=PHONE_INDEX_KIND)
                if index != resident.phone_index:
                    resident.phone_ciphertext = field_encrypt(row.phone, field="phone")
                    resident.phone_index = index
                    resident.phone_masked = phone_mask(row.phone)
            if row.residence:
                resident.residence = row.residence
            if row.party is not None:
                resident.is_party_member = row.party
            if row.employment is not None:
                resident.employment = row.employment
            resident.updated_at = now
        Resident.objects.bulk_update(residents, _UPDATED_FIELDS, batch_size=500)
        retag = {pk: row.person_tag_ids for pk, row in updates.items() if row.person_tag_ids is not None}
        if retag:
            self._replace_tags(Resident.tags.through, "resident_id", retag)


# ------------------------------------------------------------- housekeeping


def registry_imports_purge_stale() -> None:
    """Cancel imports left unfinished for `STALE_AFTER` and drop their files (PIPL: keep no more than needed).

    A periodic job for `gridgov.core.jobs.PERIODIC_JOBS`; idempotent. COMMITTING imports are left alone.
    """
    purged = RegistryImport.objects.filter(
        status__in=[ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALIDATED],
        created_at__lt=timezone.now() - STALE_AFTER,
    ).update(
        status=ImportStatus.CANCELLED,
        content=b"",
        finished_at=timezone.now(),
        message=_("超过7天未完成，已自动取消并删除上传的文件。"),
    )
    if purged:
        logger.info("registry imports: %d stale imports cancelled", purged)
