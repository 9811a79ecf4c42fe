"""Writes of 两房两共 清收管用: register, documents, contracts, the append-only compound
ledger (corrections are reversal entries), inventory campaigns, findings and recovery tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.models import Area, Compound
from gridgov.assets.choices import (
    INCOME_ITEMS,
    AssetStatus,
    ContractAlertKind,
    DiscrepancyKind,
    LedgerDirection,
    LedgerItem,
    TaskStatus,
)
from gridgov.assets.errors import AssetConflict, AssetForbidden
from gridgov.assets.models import (
    AssetContract,
    AssetDocument,
    ContractAlertSent,
    InventoryCampaign,
    InventoryFinding,
    LedgerEntry,
    PublicAsset,
    RecoveryTask,
)
from gridgov.assets.selectors import asset_scope, contract_alerts_all
from gridgov.cases.services.lifecycle import attachments_validate
from gridgov.council.models import Decision, Meeting


def _require(actor: Any, path: str) -> None:
    if not asset_scope(actor).covers(path):
        raise AssetForbidden(_("您无权管理该小区的公共资产。"))


def _money(value: Any, label: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(label)s不是有效金额。") % {"label": label}) from None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("10000000000"):
        raise ValidationError(_("%(label)s须大于0。") % {"label": label})
    return amount


@dataclass
class AssetSpec:
    compound: Compound
    kind: str
    name: str
    location: str
    floor_area: Decimal | None = None
    current_use: str = ""
    occupant: str = ""
    status: str = AssetStatus.IN_USE
    notes: str = ""


def asset_register(*, actor: Any, spec: AssetSpec) -> PublicAsset:
    _require(actor, spec.compound.grid.path)
    if not spec.name.strip() or not spec.location.strip():
        raise ValidationError(_("请填写资产名称和位置。"))
    if spec.floor_area is not None and spec.floor_area < 0:
        raise ValidationError(_("面积不能为负数。"))
    asset = PublicAsset(
        compound=spec.compound,
        kind=spec.kind,
        name=spec.name.strip(),
        location=spec.location.strip(),
        floor_area=spec.floor_area,
        current_use=spec.current_use.strip(),
        occupant=spec.occupant.strip(),
        status=spec.status,
        notes=spec.notes,
        created_by=actor,
    )
    asset.full_clean(exclude=["created_by"])
    asset.save()
    return asset


@transaction.atomic
def asset_documents_add(*, actor: Any, asset: PublicAsset, files: Sequence[UploadedFile]) -> list[AssetDocument]:
    _require(actor, asset.compound.grid.path)
    documents = []
    for prepared in attachments_validate(list(files)):
        document = AssetDocument(
            asset=asset, original_name=prepared.original_name, content_type=prepared.content_type, uploaded_by=actor
        )
        document.file.save(prepared.original_name, prepared.content, save=False)
        document.save()
        documents.append(document)
    return documents


def contract_create(
    *, actor: Any, asset: PublicAsset, party: str, start_on: date, end_on: date, rent: Any, period: str
) -> AssetContract:
    _require(actor, asset.compound.grid.path)
    if not party.strip():
        raise ValidationError(_("请填写承租/使用方。"))
    if end_on < start_on:
        raise ValidationError(_("终止日期不能早于起始日期。"))
    contract = AssetContract(
        asset=asset,
        party=party.strip(),
        start_on=start_on,
        end_on=end_on,
        rent=_money(rent, _("租金")),
        period=period,
        created_by=actor,
    )
    contract.full_clean(exclude=["created_by"])
    contract.save()
    return contract


def _check_decision(actor: Any, compound: Compound, decision: Decision) -> None:
    """A decision backs a booking only if a meeting of the same compound took it (meetings belong
    to one compound: `Meeting.compound`), the actor may see that meeting, and it passed."""
    meeting = Meeting.objects.select_related("area").get(pk=decision.agenda_item.meeting_id)
    if meeting.compound_id != compound.pk or not scope_for(actor, Capability.VIEW_AREAS).covers(meeting.area.path):
        raise ValidationError(_("所选议事决议不是本小区议事会议作出的，不能作为这笔收支的依据。"))
    if not decision.passed:
        raise ValidationError(_("所选议事决议未获通过，不能作为这笔收支的依据。"))


@transaction.atomic
def ledger_record(
    *,
    actor: Any,
    compound: Compound,
    item: str,
    amount: Any,
    occurred_on: date,
    description: str,
    asset: PublicAsset | None = None,
    contract: AssetContract | None = None,
    voucher: Sequence[UploadedFile] = (),
    decision: Decision | None = None,
    decision_reference: str = "",
    now: datetime | None = None,
) -> LedgerEntry:
    """Book one income or expense; the direction follows from the item. Spending decided by the
    residents' council links the `decision` (of a meeting of this compound, passed); an old
    ledger's free text goes to `decision_reference`."""
    now = now or timezone.now()
    _require(actor, compound.grid.path)
    if decision is not None:
        _check_decision(actor, compound, decision)
    if item not in LedgerItem.values:
        raise ValidationError(_("未知的收支科目。"))
    value = _money(amount, _("金额"))
    if occurred_on > timezone.localdate(now):
        raise ValidationError(_("发生日期不能晚于今天。"))
    if not description.strip():
        raise ValidationError(_("请填写摘要。"))
    if asset is not None and asset.compound_id != compound.pk:
        raise ValidationError(_("资产不属于该小区。"))
    if contract is not None:
        if contract.asset.compound_id != compound.pk:
            raise ValidationError(_("合同不属于该小区。"))
        asset = contract.asset
    prepared = attachments_validate(list(voucher))
    entry = LedgerEntry(
        compound=compound,
        direction=LedgerDirection.INCOME if item in INCOME_ITEMS else LedgerDirection.EXPENSE,
        item=item,
        amount=value,
        occurred_on=occurred_on,
        asset=asset,
        contract=contract,
        description=description.strip()[:200],
        decision=decision,
        decision_reference=decision_reference.strip()[:100],
        recorded_by=actor,
        recorded_at=now,
    )
    if prepared:
        entry.voucher.save(prepared[0].original_name, prepared[0].content, save=False)
    entry.save()
    return entry


@transaction.atomic
def ledger_reverse(*, actor: Any, entry: LedgerEntry, reason: str, now: datetime | None = None) -> LedgerEntry:
    """Correct a booking with a new entry of the negated amount on the same date and item."""
    now = now or timezone.now()
    _require(actor, entry.compound.grid.path)
    if entry.reverses_id is not None:
        raise AssetConflict(_("冲正记录不能再冲正。"))
    if LedgerEntry.objects.select_for_update().filter(reverses=entry).exists():
        raise AssetConflict(_("该笔已冲正。"))
    if not reason.strip():
        raise ValidationError(_("请填写冲正原因。"))
    reversal = LedgerEntry(
        compound=entry.compound,
        direction=entry.direction,
        item=entry.item,
        amount=-entry.amount,
        occurred_on=entry.occurred_on,
        asset=entry.asset,
        contract=entry.contract,
        decision=entry.decision,
        decision_reference=entry.decision_reference,
        description=(_("冲正：%(reason)s") % {"reason": reason.strip()})[:200],
        reverses=entry,
        recorded_by=actor,
        recorded_at=now,
    )
    reversal.save()
    return reversal


@transaction.atomic
def ledger_import(*, actor: Any, compound: Compound, content: bytes, now: datetime | None = None) -> int:
    """Book every row of an existing ledger (.xlsx), or none: any bad row refuses the whole file."""
    from gridgov.assets.exporting import ledger_rows_read

    _require(actor, compound.grid.path)
    rows = ledger_rows_read(content)
    for row in rows:
        try:
            ledger_record(
                actor=actor,
                compound=compound,
                item=row.item,
                amount=row.amount,
                occurred_on=row.occurred_on,
                description=row.description,
                decision_reference=row.decision_reference,
                now=now,
            )
        except ValidationError as error:
            raise ValidationError(
                [_("第%(line)d行：%(message)s") % {"line": row.line, "message": message} for message in error.messages]
            ) from None
    return len(rows)


def campaign_start(*, actor: Any, area: Area, title: str, started_on: date) -> InventoryCampaign:
    _require(actor, area.path)
    if not title.strip():
        raise ValidationError(_("请填写盘点名称。"))
    return InventoryCampaign.objects.create(area=area, title=title.strip(), started_on=started_on, created_by=actor)


@transaction.atomic
def finding_add(
    *,
    actor: Any,
    campaign: InventoryCampaign,
    compound: Compound,
    kind: str,
    note: str,
    asset: PublicAsset | None = None,
    recovery_due_on: date | None = None,
    now: datetime | None = None,
) -> InventoryFinding:
    """Record a discrepancy; an occupied asset gets a recovery task (one open task per asset)."""
    now = now or timezone.now()
    _require(actor, compound.grid.path)
    if campaign.closed_on is not None:
        raise AssetConflict(_("该盘点已结束。"))
    if not compound.grid.path.startswith(campaign.area.path):
        raise ValidationError(_("小区不在本次盘点范围内。"))
    if asset is not None and asset.compound_id != compound.pk:
        raise ValidationError(_("资产不属于该小区。"))
    if not note.strip():
        raise ValidationError(_("请填写情况说明。"))
    finding = InventoryFinding.objects.create(
        campaign=campaign,
        compound=compound,
        asset=asset,
        kind=kind,
        note=note.strip()[:300],
        found_by=actor,
        found_at=now,
    )
    if kind == DiscrepancyKind.OCCUPIED and asset is not None:
        PublicAsset.objects.filter(pk=asset.pk).update(status=AssetStatus.OCCUPIED)
        if not RecoveryTask.objects.filter(asset=asset, status=TaskStatus.OPEN).exists():
            RecoveryTask.objects.create(
                asset=asset,
                finding=finding,
                due_on=recovery_due_on or timezone.localdate(now) + timedelta(days=30),
                created_by=actor,
                created_at=now,
            )
    return finding


@transaction.atomic
def recovery_finish(
    *, actor: Any, task: RecoveryTask, recovered: bool, result: str, now: datetime | None = None
) -> RecoveryTask:
    now = now or timezone.now()
    task = RecoveryTask.objects.select_for_update().select_related("asset__compound__grid").get(pk=task.pk)
    _require(actor, task.asset.compound.grid.path)
    if task.status != TaskStatus.OPEN:
        raise AssetConflict(_("该收回任务已完成。"))
    if not result.strip():
        raise ValidationError(_("请填写处理结果。"))
    task.status = TaskStatus.DONE if recovered else TaskStatus.DROPPED
    task.result = result.strip()[:300]
    task.finished_at = now
    task.save(update_fields=["status", "result", "finished_at"])
    if recovered:
        PublicAsset.objects.filter(pk=task.asset_id).update(status=AssetStatus.RECOVERED, occupant="")
    return task


def campaign_close(*, actor: Any, campaign: InventoryCampaign, closed_on: date) -> InventoryCampaign:
    _require(actor, campaign.area.path)
    if campaign.closed_on is not None:
        raise AssetConflict(_("该盘点已结束。"))
    campaign.closed_on = closed_on
    campaign.save(update_fields=["closed_on"])
    return campaign


def contract_alert_recipients(compound: Compound) -> list[int]:
    """The community staff responsible for the compound: active holders of the community-staff
    role on the compound's community (or above it, on the same branch)."""
    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import RoleAssignment
    from gridgov.areas.selectors import area_path_prefixes

    return sorted(
        set(
            RoleAssignment.objects.filter(
                role=Role.COMMUNITY_STAFF, area__path__in=area_path_prefixes(compound.grid.path), user__is_active=True
            ).values_list("user_id", flat=True)
        )
    )


def contract_alerts_send(*, now: datetime | None = None) -> int:
    """Queue one notice per (contract, alert kind, period) to the compound's community staff.

    Idempotent: a `ContractAlertSent` row (unique per contract, kind and period) is written in the
    same transaction as the notices, so running the job again — the same day or every day — sends
    nothing twice. An expiry is alerted once per end date; arrears once per rent period that is
    due and unpaid. Alerts without anyone to receive them are not marked, so staff assigned
    later still get them. Returns the number of alerts queued."""
    from gridgov.notices.choices import NoticeKind
    from gridgov.notices.services import notices_queue

    now = now or timezone.now()
    alerts = contract_alerts_all(timezone.localdate(now))
    already = set(
        ContractAlertSent.objects.filter(contract_id__in={alert.contract.pk for alert in alerts}).values_list(
            "contract_id", "kind", "period"
        )
    )
    recipients_of: dict[int, list[int]] = {}
    queued = 0
    for alert in alerts:
        contract = alert.contract
        if (contract.pk, alert.kind, alert.period) in already:
            continue
        compound = contract.asset.compound
        if compound.pk not in recipients_of:
            recipients_of[compound.pk] = contract_alert_recipients(compound)
        recipients = recipients_of[compound.pk]
        if not recipients:
            continue
        with transaction.atomic():
            _sent, created = ContractAlertSent.objects.get_or_create(
                contract=contract,
                kind=alert.kind,
                period=alert.period,
                defaults={"sent_at": now, "recipients": len(recipients)},
            )
            if not created:
                continue
            title = (
                _("合同即将到期：%(asset)s · %(party)s")
                if alert.kind == ContractAlertKind.EXPIRY
                else _("租金欠缴：%(asset)s · %(party)s")
            ) % {"asset": contract.asset.name, "party": contract.party}
            notices_queue(
                recipient_ids=recipients,
                kind=NoticeKind.CONTRACT_ALERT,
                title=title,
                body=_("%(compound)s：%(message)s") % {"compound": compound.name, "message": alert.message},
                link=reverse("assets:asset", args=[contract.asset_id]),
            )
        queued += 1
    return queued


@transaction.atomic
def assets_delete_all() -> None:
    """For the demo reset only (with the ledger guard lifted inside this transaction)."""
    from gridgov.credits.models import LedgerMaintenance

    LedgerMaintenance.objects.get_or_create(pk=1)
    LedgerEntry.objects.exclude(reverses=None)._raw_delete(LedgerEntry.objects.db)
    LedgerEntry.objects.all()._raw_delete(LedgerEntry.objects.db)
    for model in (
        RecoveryTask,
        InventoryFinding,
        InventoryCampaign,
        ContractAlertSent,
        AssetContract,
        AssetDocument,
        PublicAsset,
    ):
        model.objects.all().delete()
    LedgerMaintenance.objects.all().delete()
