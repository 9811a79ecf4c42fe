"""A resident reports a problem, follows it, rates it and says "没有解决"."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.cases.choices import CaseSource, CaseStatus, Rating, StepAction
from gridgov.cases.models import Case, CaseAttachment, CaseStep
from gridgov.cases.services import case_accept, case_escalate, case_report_back, case_verify
from gridgov.portal.services import compound_qr_ensure
from gridgov.testing.factories import AreaTree
from gridgov.testing.images import jpeg_bytes
from gridgov.testing.portal import make_resident

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
OTHER_PHONE = "13887654321"
JPEG = jpeg_bytes()


@pytest.fixture
def resident(client, tree: AreaTree):
    user = make_resident(PHONE, compound=tree.compounds[0])
    client.force_login(user)
    return user


def without_csrf_token(content: bytes) -> bytes:
    return re.sub(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*"', b"", content)


def report_form(**overrides):
    data = {
        "idempotency_key": "k-1",
        "problem": "corridor",
        "description": "3号楼2单元楼道堆满纸箱，挡住了消防通道",
        "location": "compound",
        "place_detail": "3号楼2单元",
        "reporter_name": "王女士",
    }
    data.update(overrides)
    return data


def test_report_from_the_compound_qr_code_becomes_a_resident_case_in_its_grid(client, resident, tree: AreaTree) -> None:
    # given the report page opened from compound 0's QR code
    qr = compound_qr_ensure(compound=tree.compounds[0])
    page = client.get(f"/r/c/{qr.token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert tree.compounds[0].name in body and "楼道堆物/消防通道被堵" in body
    # when the resident picks a plain problem, writes a line, adds a photo and submits
    photo = SimpleUploadedFile("楼道.jpg", JPEG, content_type="image/jpeg")
    response = client.post(f"/r/c/{qr.token}/", {**report_form(), "photos": [photo]})
    # then a case of source 居民上报 exists in the compound's grid, with the mapped category
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/r/my/{case.pk}/"
    assert case.source == CaseSource.RESIDENT
    assert case.reporter == resident
    assert case.grid == tree.grids[0]
    assert case.category.code == "0607"
    assert case.address == f"{tree.compounds[0].name} 3号楼2单元"
    assert case.reporter_name == "王女士"
    # the resident's phone reaches staff only encrypted and masked
    assert case.reporter_phone_masked == "138****5678"
    assert PHONE not in case.reporter_phone_ciphertext
    assert CaseAttachment.objects.filter(case=case).count() == 1
    # and the resident lands on their report with the Chinese confirmation
    detail = client.get(response["Location"]).content.decode()
    assert case.number in detail and "已收到您反映的问题" in detail


def test_double_submit_of_one_form_gives_one_case(client, resident) -> None:
    client.post("/r/report/", report_form())
    client.post("/r/report/", report_form())
    assert Case.objects.count() == 1


def test_pin_on_the_map_places_the_case_in_the_grid_under_the_pin(client, resident, tree: AreaTree) -> None:
    # given a point inside grid 5 (grids are 0.01° squares; see the tree fixture)
    grid = tree.grids[5]
    lon, lat = (grid.min_lon + grid.max_lon) / 2, (grid.min_lat + grid.max_lat) / 2
    # when the resident reports there with the map pin
    client.post("/r/report/", report_form(location="pin", longitude=lon, latitude=lat, problem="noise"))
    # then the case is in that grid
    case = Case.objects.get()
    assert case.grid == grid
    assert case.category.code == "0602"


def test_pin_mode_without_a_pin_is_refused_in_chinese(client, resident) -> None:
    response = client.post("/r/report/", report_form(location="pin"))
    assert response.status_code == 422
    assert "请在地图上点选问题所在位置" in response.content.decode()
    assert not Case.objects.exists()


def test_renamed_exe_photo_is_refused_with_a_clear_message(client, resident) -> None:
    fake = SimpleUploadedFile("照片.jpg", b"MZ\x90\x00" + b"\x00" * 64, content_type="image/jpeg")
    response = client.post("/r/report/", {**report_form(), "photos": [fake]})
    assert response.status_code == 422
    assert "不是照片" in response.content.decode()
    assert not Case.objects.exists()


def test_resident_without_a_compound_reports_only_with_the_map(client, tree: AreaTree) -> None:
    # given a resident who signed in without scanning a compound's code
    client.force_login(make_resident(OTHER_PHONE))
    page = client.get("/r/report/").content.decode()
    # then the form offers only the map, and "my compound" is refused
    assert 'value="compound"' not in page
    response = client.post("/r/report/", report_form())
    assert response.status_code == 422


def _resident_case(client, **overrides) -> Case:
    client.post("/r/report/", report_form(**overrides))
    return Case.objects.latest("id")


def test_my_reports_lists_only_my_own_cases_with_an_empty_state_first(client, resident, tree: AreaTree) -> None:
    # given no reports yet
    assert "您还没有反映过问题" in client.get("/r/my/").content.decode()
    # given my report and another resident's
    mine = _resident_case(client)
    other_client = client.__class__()
    other_client.force_login(make_resident(OTHER_PHONE, compound=tree.compounds[0]))
    other_client.post(
        "/r/report/", report_form(description="邻居家的狗夜里一直叫", problem="dogs", idempotency_key="k-2")
    )
    theirs = Case.objects.exclude(pk=mine.pk).get()
    # when I open my list
    body = client.get("/r/my/").content.decode()
    # then I see mine with a plain status, not theirs
    assert mine.title in body and "已提交，等待受理" in body
    assert theirs.title not in body


def test_my_reports_are_paginated_without_n_plus_one(client, resident, django_assert_max_num_queries) -> None:
    for n in range(12):
        client.post("/r/report/", report_form(idempotency_key=f"k-{n}", description=f"第{n}次反映：楼道堆物"))
    with django_assert_max_num_queries(10):
        first = client.get("/r/my/").content.decode()
    assert "第 1 / 2 页" in first
    assert "第11次反映" in first and "第1次反映" not in first
    assert "第1次反映" in client.get("/r/my/?page=2").content.decode()


def test_another_residents_case_is_the_same_404_as_a_missing_one(client, resident, tree: AreaTree) -> None:
    # given another resident's case
    other_client = client.__class__()
    other_client.force_login(make_resident(OTHER_PHONE, compound=tree.compounds[0]))
    other_client.post("/r/report/", report_form(idempotency_key="theirs"))
    theirs = Case.objects.get()
    # when I open its address, or rate or reopen it
    foreign = client.get(f"/r/my/{theirs.pk}/")
    missing = client.get(f"/r/my/{theirs.pk + 1000}/")
    # then it is the same 404 as a case that does not exist
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf_token(foreign.content) == without_csrf_token(missing.content)
    assert client.post(f"/r/my/{theirs.pk}/rate/", {"rating": "satisfied"}).status_code == 404
    assert client.post(f"/r/my/{theirs.pk}/reopen/", {"reason": "x"}).status_code == 404


def test_staff_case_seen_by_grid_scope_is_not_a_residents_report(client, resident, personas, tree: AreaTree) -> None:
    # given a case a grid worker registered in the resident's own grid
    from gridgov.testing.cases import submit_case

    case = submit_case(personas["grid_worker"], tree.grids[0])
    # then the resident cannot open it on the portal
    assert client.get(f"/r/my/{case.pk}/").status_code == 404


def test_timeline_is_plain_chinese_without_internal_notes_or_staff_names(client, resident, personas) -> None:
    # given my report, accepted and escalated by the grid worker with a reason
    case = _resident_case(client)
    worker = personas["grid_worker"]
    case_accept(actor=worker, case=case)
    case_escalate(actor=worker, case=case, reason="需社区协调物业，住户张三不配合")
    # and an internal note on the case (no service writes one yet; rows like this are staff-only)
    CaseStep.objects.create(
        case=case,
        seq=case.version + 100,
        action=StepAction.ACCEPT,
        actor=worker,
        at=case.updated_at,
        to_status=case.status,
        to_tier=case.tier,
        note="内部备注：该住户多次投诉",
        internal=True,
    )
    # when I open my report
    body = client.get(f"/r/my/{case.pk}/").content.decode()
    # then the steps read in plain words, without the internal note, the escalation reason or names
    assert "您反映了这个问题" in body
    assert "工作人员已受理，正在处理" in body
    assert "已转交上一级协调处理" in body
    assert "内部备注" not in body
    assert "张三不配合" not in body
    assert worker.full_name not in body


def _closed_case(client, personas) -> Case:
    case = _resident_case(client)
    worker = personas["grid_worker"]
    case_accept(actor=worker, case=case)
    case_report_back(actor=worker, case=case, result="已联系物业清理楼道")
    case_verify(actor=worker, case=case, passed=True, note="楼道已清空")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    return case


def test_resident_rates_dissatisfied_then_reopens(client, resident, personas) -> None:
    # given my report, settled and closed by the grid worker
    case = _closed_case(client, personas)
    page = client.get(f"/r/my/{case.pk}/").content.decode()
    assert "已联系物业清理楼道" in page  # the result is shown to me
    assert "评价处理结果" in page and "没有解决，请重新处理" in page
    # when I rate it 不满意
    response = client.post(f"/r/my/{case.pk}/rate/", {"rating": Rating.DISSATISFIED, "note": "纸箱又堆回来了"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.rating == Rating.DISSATISFIED
    page = client.get(f"/r/my/{case.pk}/").content.decode()
    assert "您做了评价" in page and "不满意" in page
    assert "评价处理结果" not in page  # rated once only
    # and say it is not solved
    response = client.post(f"/r/my/{case.pk}/reopen/", {"reason": "纸箱又堆回来了"})
    # then the case is open again, back with the grid worker
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.HANDLING
    assert case.reopen_count == 1
    assert "您反馈没有解决，已重新办理" in client.get(f"/r/my/{case.pk}/").content.decode()


def test_reopen_needs_a_reason_and_an_open_case_cannot_be_rated(client, resident, personas) -> None:
    # given an open report: no rating form, and a posted rating is refused in Chinese
    case = _resident_case(client)
    assert "评价处理结果" not in client.get(f"/r/my/{case.pk}/").content.decode()
    response = client.post(f"/r/my/{case.pk}/rate/", {"rating": Rating.SATISFIED})
    assert response.status_code == 409
    assert "不能评价" in response.content.decode()
    case.refresh_from_db()
    assert case.rating == ""
    # given it closed: a reopen without a reason is refused
    closed = _closed_case(client, personas)
    response = client.post(f"/r/my/{closed.pk}/reopen/", {"reason": ""})
    assert response.status_code == 422
    assert "请说明哪里没有解决" in response.content.decode()


def test_signed_in_resident_scanning_another_compound_reports_there(client, resident, tree: AreaTree) -> None:
    # given a resident of compound 0 who scans compound 4's poster
    qr = compound_qr_ensure(compound=tree.compounds[4])
    page = client.get(f"/r/c/{qr.token}/")
    # then the report page is prefilled with compound 4, which becomes "my compound"
    assert page.status_code == 200 and tree.compounds[4].name in page.content.decode()
    client.post(f"/r/c/{qr.token}/", report_form())
    assert Case.objects.get().grid == tree.grids[4]
    assert resident.resident_phone.__class__.objects.get(user=resident).compound == tree.compounds[4]
