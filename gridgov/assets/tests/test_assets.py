"""Public assets (两房两共): register, contracts with alerts, the append-only ledger,
清收管用 findings and recovery, and the quarterly disclosure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from gridgov.assets.choices import AssetKind, AssetStatus, DiscrepancyKind, TaskStatus
from gridgov.assets.errors import AssetForbidden
from gridgov.assets.models import LedgerEntry, RecoveryTask
from gridgov.assets.selectors import contract_alerts, disclosure
from gridgov.assets.services import (
    AssetSpec,
    asset_register,
    campaign_start,
    contract_create,
    finding_add,
    ledger_record,
    ledger_reverse,
    recovery_finish,
)
from gridgov.testing.images import jpeg_upload

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()


@pytest.fixture
def room(tree, personas):
    return asset_register(
        actor=personas["community_staff"],
        spec=AssetSpec(
            compound=tree.compounds[0],
            kind=AssetKind.SERVICE_ROOM,
            name="物业用房A",
            location="3号楼底商",
            floor_area=Decimal("85.5"),
        ),
    )


def _book(personas, tree, item, amount, day, **kwargs):
    return ledger_record(
        actor=personas["community_staff"],
        compound=tree.compounds[0],
        item=item,
        amount=amount,
        occurred_on=day,
        description=kwargs.pop("description", "记账"),
        now=NOW,
        **kwargs,
    )


def test_ledger_is_append_only_and_corrected_by_reversal(personas, tree, room):
    # Given an income with a voucher
    entry = _book(personas, tree, "rent", "1200.00", date(2026, 4, 2), asset=room, voucher=[jpeg_upload("收据.jpg")])
    assert entry.voucher.name and entry.direction == "income"
    # When someone tries to edit or delete it, every path refuses
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    # When it is corrected, a reversal entry negates it
    reversal = ledger_reverse(actor=personas["community_staff"], entry=entry, reason="金额录错", now=NOW)
    assert reversal.amount == Decimal("-1200.00")
    assert disclosure(tree.compounds[0], 2026, 2).income == 0


def test_bad_amounts_and_out_of_scope_are_refused(personas, tree):
    for amount in ("abc", "-5", "0", "NaN"):
        with pytest.raises(ValidationError):
            _book(personas, tree, "rent", amount, TODAY)
    with pytest.raises(AssetForbidden):
        ledger_record(
            actor=personas["outsider"],
            compound=tree.compounds[0],
            item="rent",
            amount="10",
            occurred_on=TODAY,
            description="x",
            now=NOW,
        )
    assert not LedgerEntry.objects.exists()


def test_disclosure_totals_equal_the_ledger(personas, tree, room):
    # Given bookings before, inside and after the second quarter of 2026
    _book(personas, tree, "parking", "500", date(2026, 3, 31))
    _book(personas, tree, "rent", "1200", date(2026, 4, 1), asset=room)
    _book(personas, tree, "advertising", "800.50", date(2026, 5, 20))
    _book(personas, tree, "repair", "300.25", date(2026, 6, 10), decision_reference="2026年第3次居民议事会")
    wrong = _book(personas, tree, "rent", "99", date(2026, 6, 11))
    ledger_reverse(actor=personas["community_staff"], entry=wrong, reason="重复记账", now=NOW)
    # When the Q2 disclosure is read
    report = disclosure(tree.compounds[0], 2026, 2)
    # Then its totals equal the ledger's sums and the balance carries over
    in_quarter = LedgerEntry.objects.filter(
        compound=tree.compounds[0], occurred_on__range=(date(2026, 4, 1), date(2026, 6, 30))
    )
    income = sum(e.amount for e in in_quarter if e.direction == "income")
    expense = sum(e.amount for e in in_quarter if e.direction == "expense")
    assert (report.income, report.expense) == (income, expense) == (Decimal("2000.50"), Decimal("300.25"))
    assert report.opening_balance == Decimal("500")
    assert report.closing_balance == Decimal("2200.25")
    assert {row.label: row.income for row in report.rows}["房屋租金"] == Decimal("1200")


def test_contract_ending_in_30_days_raises_one_alert(personas, tree, room):
    # Given a contract ending in 20 days, fully paid, and another ending in 90 days
    soon = contract_create(
        actor=personas["community_staff"],
        asset=room,
        party="某便利店",
        start_on=date(2026, 1, 1),
        end_on=TODAY + timedelta(days=20),
        rent="1000",
        period="quarterly",
    )
    later = contract_create(
        actor=personas["community_staff"],
        asset=room,
        party="某快递驿站",
        start_on=date(2026, 6, 1),
        end_on=TODAY + timedelta(days=90),
        rent="300",
        period="monthly",
    )
    _book(personas, tree, "rent", "2000", date(2026, 4, 1), contract=soon)
    _book(personas, tree, "rent", "300", date(2026, 6, 1), contract=later)
    # When the alerts are read
    alerts = contract_alerts(personas["community_staff"], TODAY)
    # Then exactly one alert: the first contract's expiry
    assert [(alert.contract, alert.kind) for alert in alerts] == [(soon, "expiry")]
    assert contract_alerts(personas["outsider"], TODAY) == []
    # And a missed payment raises an arrears alert
    alerts = contract_alerts(personas["community_staff"], date(2026, 7, 2))
    assert (later, "arrears") in [(alert.contract, alert.kind) for alert in alerts]


def test_inventory_finding_of_occupied_asset_opens_one_recovery_task(personas, tree, room):
    campaign = campaign_start(
        actor=personas["community_staff"], area=tree.communities[0], title="2026年两房两共清查", started_on=TODAY
    )
    finding_add(
        actor=personas["community_staff"],
        campaign=campaign,
        compound=tree.compounds[0],
        asset=room,
        kind=DiscrepancyKind.OCCUPIED,
        note="被个人占用堆放杂物",
        now=NOW,
    )
    finding_add(
        actor=personas["community_staff"],
        campaign=campaign,
        compound=tree.compounds[0],
        asset=room,
        kind=DiscrepancyKind.OCCUPIED,
        note="复查仍被占用",
        now=NOW,
    )
    room.refresh_from_db()
    task = RecoveryTask.objects.get(asset=room)
    assert room.status == AssetStatus.OCCUPIED and task.status == TaskStatus.OPEN
    recovery_finish(actor=personas["community_staff"], task=task, recovered=True, result="已清空收回", now=NOW)
    room.refresh_from_db()
    assert room.status == AssetStatus.RECOVERED


def _xlsx(rows):
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["日期", "科目", "金额（元）", "摘要", "议事决定"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_ledger_import_refuses_bad_amounts_and_dates_and_writes_nothing(personas, tree):
    from gridgov.assets.services import ledger_import

    # Given a file with one good row, a bad amount and a bad date
    bad = _xlsx(
        [
            [date(2026, 1, 3), "停车收费", 300, "1月停车费", ""],
            ["2026-02-30", "房屋租金", 500, "租金", ""],
            [date(2026, 3, 1), "维修养护", "三百", "修门", ""],
        ]
    )
    # When it is imported, every problem is named with its row and nothing is booked
    with pytest.raises(ValidationError) as refused:
        ledger_import(actor=personas["community_staff"], compound=tree.compounds[0], content=bad, now=NOW)
    assert any("第3行" in message and "日期" in message for message in refused.value.messages)
    assert any("第4行" in message and "金额" in message for message in refused.value.messages)
    assert not LedgerEntry.objects.exists()
    with pytest.raises(ValidationError):
        ledger_import(actor=personas["community_staff"], compound=tree.compounds[0], content=b"not a workbook", now=NOW)
    # When a clean file is imported, every row is booked
    good = _xlsx(
        [
            [date(2026, 1, 3), "停车收费", 300, "1月停车费", ""],
            ["2026-02-01", "维修养护", "120.5", "修门", "议事会决定"],
        ]
    )
    assert ledger_import(actor=personas["community_staff"], compound=tree.compounds[0], content=good, now=NOW) == 2
    assert disclosure(tree.compounds[0], 2026, 1).closing_balance == Decimal("179.50")
