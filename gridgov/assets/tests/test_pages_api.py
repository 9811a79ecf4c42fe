"""Public-asset pages and API: scope 404, the disclosure page for the compound's residents,
totals on the page equal the ledger."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from gridgov.accounts.services import api_token_issue
from gridgov.assets.models import LedgerEntry
from gridgov.assets.services import ledger_record
from gridgov.testing.portal import make_resident

pytestmark = pytest.mark.django_db


def _headers(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(actor=None, user=user)[1]}"}


@pytest.fixture
def booked(tree, personas):
    staff = personas["community_staff"]
    for item, amount, day in (
        ("rent", "1500", date(2026, 1, 5)),
        ("parking", "420.40", date(2026, 2, 9)),
        ("repair", "600", date(2026, 3, 2)),
    ):
        ledger_record(
            actor=staff, compound=tree.compounds[0], item=item, amount=amount, occurred_on=day, description="记账"
        )
    return tree.compounds[0]


def test_residents_of_the_compound_read_the_disclosure_with_ledger_totals(client: Client, tree, booked):
    # Given a resident who signed in from this compound and one from another compound
    own = make_resident("13612345678", compound=booked)
    other = make_resident("13612345679", compound=tree.compounds[5])
    # When the resident opens the Q1 disclosure
    client.force_login(own)
    page = client.get(f"/public-assets/compounds/{booked.pk}/disclosure/", {"year": 2026, "quarter": 1})
    # Then the totals shown equal the ledger
    assert page.status_code == 200
    text = page.content.decode()
    income = sum(e.amount for e in LedgerEntry.objects.filter(compound=booked, direction="income"))
    assert income == Decimal("1920.40")
    assert 'data-total="income">1920.40<' in text and 'data-total="expense">600.00<' in text
    assert 'data-total="balance">1320.40<' in text
    # And a resident of another compound gets 404
    client.force_login(other)
    assert (
        client.get(f"/public-assets/compounds/{booked.pk}/disclosure/", {"year": 2026, "quarter": 1}).status_code == 404
    )


def test_out_of_scope_staff_get_404_on_pages_and_api(client: Client, personas, booked):
    outsider = personas["outsider"]
    client.force_login(outsider)
    assert client.get(f"/public-assets/compounds/{booked.pk}/").status_code == 404
    assert client.get(f"/public-assets/compounds/{booked.pk}/disclosure/").status_code == 404
    headers = _headers(outsider)
    assert client.get(f"/api/v1/public-assets/compounds/{booked.pk}/ledger", **headers).status_code == 404
    assert (
        client.get(f"/api/v1/public-assets/compounds/{booked.pk}/disclosure?year=2026&quarter=1", **headers).status_code
        == 404
    )
    client.force_login(personas["community_staff"])
    assert client.get(f"/public-assets/compounds/{booked.pk}/").status_code == 200
    assert client.get("/public-assets/").status_code == 200


def test_api_books_income_and_disclosure_matches(client: Client, personas, booked):
    headers = _headers(personas["grid_worker"])
    bad = client.post(
        f"/api/v1/public-assets/compounds/{booked.pk}/ledger",
        data=json.dumps({"item": "rent", "amount": "-3", "occurred_on": "2026-03-01", "description": "租金"}),
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400 and "金额" in bad.json()["detail"]
    good = client.post(
        f"/api/v1/public-assets/compounds/{booked.pk}/ledger",
        data=json.dumps(
            {"item": "advertising", "amount": "79.60", "occurred_on": "2026-03-01", "description": "电梯广告"}
        ),
        content_type="application/json",
        **headers,
    )
    assert good.status_code == 201
    report = client.get(f"/api/v1/public-assets/compounds/{booked.pk}/disclosure?year=2026&quarter=1", **headers).json()
    assert Decimal(report["income"]) == Decimal("2000.00") and Decimal(report["closing_balance"]) == Decimal("1400.00")


def test_staff_page_registers_an_asset_and_books_with_voucher(client: Client, personas, booked):
    from gridgov.testing.images import jpeg_upload

    client.force_login(personas["community_staff"])
    response = client.post(
        f"/public-assets/compounds/{booked.pk}/",
        {
            "asset-kind": "service_room",
            "asset-name": "物业用房",
            "asset-location": "2号楼一层",
            "asset-status": "in_use",
            "asset-photos": jpeg_upload(),
        },
    )
    assert response.status_code == 302
    assert booked.public_assets.get().documents.count() == 1
    response = client.post(
        f"/public-assets/compounds/{booked.pk}/",
        {
            "ledger-item": "repair",
            "ledger-amount": "88",
            "ledger-occurred_on": "2026-01-10",
            "ledger-description": "更换灯具",
            "ledger-voucher": jpeg_upload("发票.jpg"),
        },
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.filter(compound=booked, item="repair", amount=Decimal("88")).get().voucher.name


def test_campaign_page_records_an_occupied_asset_and_the_task_is_finished(client: Client, personas, tree, booked):
    from gridgov.assets.models import InventoryCampaign, PublicAsset, RecoveryTask

    asset = PublicAsset.objects.create(
        compound=booked, kind="community_room", name="社区用房", location="会所", created_by=personas["community_staff"]
    )
    client.force_login(personas["community_staff"])
    client.post("/public-assets/campaigns/", {"area": tree.communities[0].pk, "title": "2026年清查"})
    campaign = InventoryCampaign.objects.get()
    client.post(
        f"/public-assets/campaigns/{campaign.pk}/",
        {"compound": booked.pk, "asset": asset.pk, "kind": "occupied", "note": "被个人占用"},
    )
    task = RecoveryTask.objects.get(asset=asset)
    assert "被个人占用" in client.get(f"/public-assets/campaigns/{campaign.pk}/").content.decode()
    assert "2026年清查" in client.get("/public-assets/campaigns/").content.decode()
    assert "收回中" in client.get(f"/public-assets/assets/{asset.pk}/").content.decode()
    client.post(f"/public-assets/tasks/{task.pk}/finish/", {"recovered": "1", "result": "已清空收回"})
    asset.refresh_from_db()
    assert asset.status == "recovered"
    client.force_login(personas["outsider"])
    assert client.get(f"/public-assets/campaigns/{campaign.pk}/").status_code == 404


def test_compound_register_exports_as_xlsx_with_every_ledger_row(client: Client, personas, booked):
    import io

    from openpyxl import load_workbook

    client.force_login(personas["community_staff"])
    response = client.get(f"/public-assets/compounds/{booked.pk}/export.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    ledger_rows = list(workbook["收支台账"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[3] for row in ledger_rows) == [420.4, 600.0, 1500.0]
    client.force_login(personas["outsider"])
    assert client.get(f"/public-assets/compounds/{booked.pk}/export.xlsx").status_code == 404
