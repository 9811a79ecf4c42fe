"""Contract expiry and arrears alerts as notices to the compound's community staff, each once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.assets.choices import AssetKind, ContractAlertKind
from gridgov.assets.jobs import send_contract_alerts
from gridgov.assets.models import ContractAlertSent
from gridgov.assets.services import AssetSpec, asset_register, contract_alerts_send, contract_create, ledger_record
from gridgov.notices.choices import NoticeKind
from gridgov.notices.models import Notice
from gridgov.notices.selectors import inbox_for_user
from gridgov.notices.services import notices_deliver
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db


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


def _alert_notices(user=None):
    notices = Notice.objects.filter(kind=NoticeKind.CONTRACT_ALERT)
    return notices.filter(recipient=user) if user is not None else notices


def test_contract_ending_in_30_days_raises_one_notice_even_when_the_job_runs_twice(tree, personas, room):
    # Given a paid-up contract ending in exactly 30 days, the compound's community staff,
    # and staff of another community and another town
    today = timezone.localdate()
    contract = contract_create(
        actor=personas["community_staff"],
        asset=room,
        party="某便利店",
        start_on=today,
        end_on=today + timedelta(days=30),
        rent="500",
        period="monthly",
    )
    ledger_record(
        actor=personas["community_staff"],
        compound=tree.compounds[0],
        item="rent",
        amount="500",
        occurred_on=today,
        description="首月租金",
        contract=contract,
    )
    neighbour = make_user_with_role(Role.COMMUNITY_STAFF, tree.communities[1], username="neighbour_staff")
    # When the daily job runs twice
    send_contract_alerts()
    send_contract_alerts()
    # Then the community staff got exactly one expiry alert, linked to the asset
    mine = list(_alert_notices(personas["community_staff"]))
    assert len(mine) == 1
    assert "合同即将到期" in mine[0].title and "某便利店" in mine[0].title
    assert mine[0].link == f"/public-assets/assets/{room.pk}/"
    assert ContractAlertSent.objects.get().kind == ContractAlertKind.EXPIRY
    # And out-of-scope staff received nothing
    for outsider in (neighbour, personas["outsider"], personas["grid_worker"]):
        assert not _alert_notices(outsider).exists()
    # And it reaches the inbox once
    notices_deliver()
    assert [message.kind for message in inbox_for_user(personas["community_staff"])] == [NoticeKind.CONTRACT_ALERT]
    # When the job runs on the following days, nothing is sent again
    tomorrow = timezone.now() + timedelta(days=1)
    assert contract_alerts_send(now=tomorrow) == 0
    assert contract_alerts_send(now=tomorrow + timedelta(days=10)) == 0
    assert _alert_notices().count() == 1


def test_arrears_alert_once_per_unpaid_period(tree, personas, room):
    # Given a monthly contract from 1 March 2026 with nothing paid
    contract_create(
        actor=personas["community_staff"],
        asset=room,
        party="某快递驿站",
        start_on=date(2026, 3, 1),
        end_on=date(2027, 2, 28),
        rent="300",
        period="monthly",
    )
    march = datetime(2026, 3, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    # When the job runs twice in March, one arrears alert goes out
    assert contract_alerts_send(now=march) == 1
    assert contract_alerts_send(now=march + timedelta(days=7)) == 0
    notice = _alert_notices(personas["community_staff"]).get()
    assert "租金欠缴" in notice.title and "300" in notice.body
    # When April's rent falls due unpaid too, one more alert goes out
    assert contract_alerts_send(now=march + timedelta(days=30)) == 1
    assert list(ContractAlertSent.objects.order_by("period").values_list("kind", "period")) == [
        ("arrears", "2026-03"),
        ("arrears", "2026-04"),
    ]
    assert _alert_notices().count() == 2


def test_no_recipient_means_not_marked_sent_until_someone_is_responsible(tree, personas):
    # Given a contract in a compound of town 1, where no community staff is assigned yet
    compound = tree.compounds[4]
    town_staff = personas["outsider"]
    asset = asset_register(
        actor=town_staff,
        spec=AssetSpec(compound=compound, kind=AssetKind.COMMUNITY_ROOM, name="社区用房", location="会所"),
    )
    today = timezone.localdate()
    contract_create(
        actor=town_staff,
        asset=asset,
        party="某培训机构",
        start_on=today - timedelta(days=300),
        end_on=today + timedelta(days=10),
        rent="1000",
        period="yearly",
    )
    # When the job runs, nothing is queued and nothing is marked
    assert contract_alerts_send() == 0
    assert not ContractAlertSent.objects.exists()
    # When community staff are assigned there, the next run alerts them (expiry and arrears)
    staff = make_user_with_role(Role.COMMUNITY_STAFF, compound.grid.parent, username="late_staff")
    assert contract_alerts_send() == 2
    assert sorted(_alert_notices(staff).values_list("title", flat=True))[0].startswith("合同即将到期")
    assert not _alert_notices(personas["community_staff"]).exists()
