"""Phone login by one-time code: the pages and the service rules behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.notices.models import Notice
from gridgov.portal.models import LoginCode, ResidentPhone
from gridgov.portal.services import login_code_check, login_code_request
from gridgov.registry.crypto import field_decrypt
from gridgov.testing.factories import AreaTree
from gridgov.testing.portal import identity_of, last_sms_code

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def request_code(client, phone: str = PHONE, ip: str = "10.1.1.1"):
    return client.post("/r/login/", {"phone": phone, "next": "/r/"}, REMOTE_ADDR=ip)


def enter_code(client, code: str, ip: str = "10.1.1.1"):
    return client.post("/r/login/code/", {"code": code, "next": "/r/"}, REMOTE_ADDR=ip)


def test_resident_signs_in_with_the_code_from_the_sms(client, tree: AreaTree) -> None:
    # given a visitor who asks for a code
    response = request_code(client)
    assert response.status_code == 302
    # then one SMS is queued and the code page shows only the masked number
    assert Notice.objects.filter(channel="sms").count() == 1
    page = client.get(response["Location"])
    assert "139****5678" in page.content.decode()
    # when they type the code from the SMS
    response = enter_code(client, last_sms_code(PHONE))
    # then they are signed in as an active resident of the county
    assert response.status_code == 302 and response["Location"] == "/r/"
    home = client.get("/r/")
    assert home.status_code == 200
    assert "我要反映问题" in home.content.decode()
    identity = identity_of(PHONE)
    assert identity.user.is_active
    assert RoleAssignment.objects.get(user=identity.user).role == Role.RESIDENT
    assert RoleAssignment.objects.get(user=identity.user).area == tree.district


def test_phone_is_stored_encrypted_with_index_and_mask_never_in_plaintext(tree: AreaTree) -> None:
    # given a code requested for a phone written with a +86 prefix and spaces
    login_code_request(phone="+86 139 1234 5678", client_ip="10.0.0.2")
    identity = ResidentPhone.objects.get()
    # then the number is only in the ciphertext, and the account knows nothing of it
    assert PHONE not in identity.phone_ciphertext
    assert field_decrypt(identity.phone_ciphertext, field="portal.phone") == PHONE
    assert identity.phone_masked == "139****5678"
    assert identity.user.phone == ""
    assert PHONE not in identity.user.username + identity.user.full_name
    # and the code itself is stored only as a hash
    code = last_sms_code(PHONE)
    assert code not in LoginCode.objects.get().code_hash


def test_account_stays_inactive_until_the_first_correct_code(tree: AreaTree) -> None:
    # given a code requested but never entered
    sent = login_code_request(phone=PHONE, client_ip="10.0.0.3")
    # then the account exists but cannot be used
    assert not User.objects.get(pk=sent.identity.user_id).is_active
    assert not RoleAssignment.objects.filter(user_id=sent.identity.user_id).exists()


def test_wrong_code_is_refused_with_the_attempts_left(client, tree: AreaTree) -> None:
    # given a code sent
    request_code(client)
    right = last_sms_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    # when a wrong code is typed
    response = enter_code(client, wrong)
    # then the page says so in Chinese and nobody is signed in
    assert response.status_code == 422
    assert "验证码不正确，还可以再试4次" in response.content.decode()
    assert client.get("/r/").status_code == 302


def test_five_wrong_attempts_kill_the_code_even_the_right_one(tree: AreaTree) -> None:
    # given a code and five wrong tries
    sent = login_code_request(phone=PHONE, client_ip="10.0.0.4")
    right = last_sms_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    messages = []
    for _ in range(5):
        with pytest.raises(Exception) as refusal:
            login_code_check(identity=sent.identity, code=wrong)
        messages.append(" ".join(refusal.value.messages))
    assert "还可以再试1次" in messages[3]
    assert "输错次数过多" in messages[4]
    # when the right code comes sixth
    with pytest.raises(Exception) as refusal:
        login_code_check(identity=sent.identity, code=right)
    # then it is refused too: a new code is needed
    assert "输错次数过多" in " ".join(refusal.value.messages)


def test_code_expires_after_five_minutes(tree: AreaTree) -> None:
    # given a code sent now
    start = timezone.now()
    sent = login_code_request(phone=PHONE, client_ip="10.0.0.5", now=start)
    code = last_sms_code(PHONE)
    # when it is typed five minutes and one second later
    with pytest.raises(Exception) as refusal:
        login_code_check(identity=sent.identity, code=code, now=start + timedelta(minutes=5, seconds=1))
    # then it has expired
    assert "验证码已失效" in " ".join(refusal.value.messages)
    # but within the five minutes it works
    user = login_code_check(identity=sent.identity, code=code, now=start + timedelta(minutes=4, seconds=59))
    assert user.is_active


def test_a_code_works_once(tree: AreaTree) -> None:
    sent = login_code_request(phone=PHONE, client_ip="10.0.0.6")
    code = last_sms_code(PHONE)
    login_code_check(identity=sent.identity, code=code)
    with pytest.raises(Exception) as refusal:
        login_code_check(identity=sent.identity, code=code)
    assert "验证码已失效" in " ".join(refusal.value.messages)


def test_resend_is_throttled_per_phone_per_minute_and_a_new_code_replaces_the_old(client, tree: AreaTree) -> None:
    # given a code sent
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        request_code(client)
        first = last_sms_code(PHONE)
        # when the resident asks again within the minute
        response = client.post("/r/login/resend/", {"next": "/r/"}, REMOTE_ADDR="10.1.1.1", follow=True)
        # then they are told to wait, and no second SMS goes out
        assert "秒后再重新获取" in response.content.decode()
        assert Notice.objects.filter(channel="sms").count() == 1
        # when they ask again after a minute
        traveller.shift(timedelta(seconds=61))
        response = client.post("/r/login/resend/", {"next": "/r/"}, REMOTE_ADDR="10.1.1.1", follow=True)
        assert "新的验证码已发送" in response.content.decode()
        assert Notice.objects.filter(channel="sms").count() == 2
        second = last_sms_code(PHONE)
        # then only the newest code signs in
        if first != second:
            assert enter_code(client, first).status_code == 422
        assert enter_code(client, second).status_code == 302


def test_sending_is_throttled_per_client_address_per_minute(tree: AreaTree) -> None:
    # given five phones asking from one address within a minute
    start = timezone.now()
    for n in range(5):
        login_code_request(phone=f"1360000{n:04d}", client_ip="10.8.8.8", now=start + timedelta(seconds=n))
    # when a sixth asks in the same minute, it must wait
    with pytest.raises(Exception) as refusal:
        login_code_request(phone="13600009999", client_ip="10.8.8.8", now=start + timedelta(seconds=10))
    assert "此网络获取验证码过于频繁" in " ".join(refusal.value.messages)
    # and after the minute it may
    login_code_request(phone="13600009999", client_ip="10.8.8.8", now=start + timedelta(seconds=61))


def test_sending_is_throttled_per_client_address_per_hour(tree: AreaTree) -> None:
    # given thirty codes for thirty phones from one address within an hour
    start = timezone.now()
    for n in range(30):
        login_code_request(phone=f"1370000{n:04d}", client_ip="10.9.9.9", now=start + timedelta(minutes=n))
    # when another phone asks from the same address
    with pytest.raises(Exception) as refusal:
        login_code_request(phone="13700009999", client_ip="10.9.9.9", now=start + timedelta(minutes=30))
    # then it is refused, while another address still gets its code
    assert "此网络获取验证码过于频繁" in " ".join(refusal.value.messages)
    assert refusal.value.retry_after > 0
    login_code_request(phone="13700009999", client_ip="10.9.9.10", now=start + timedelta(minutes=30))


def test_invalid_phone_is_refused_without_echoing_it(client, tree: AreaTree) -> None:
    response = request_code(client, phone="+1 13912345678")
    assert response.status_code == 422
    assert "手机号格式不正确" in response.content.decode()
    assert not ResidentPhone.objects.exists()


def test_code_page_without_a_pending_login_goes_back_to_the_phone_page(client, tree: AreaTree) -> None:
    response = client.get("/r/login/code/")
    assert response.status_code == 302
    assert response["Location"].startswith("/r/login/")


def test_staff_account_is_sent_to_the_phone_login(client, personas) -> None:
    # given a grid worker signed in with a password
    client.force_login(personas["grid_worker"])
    # when they open the residents' home page
    response = client.get("/r/")
    # then they must sign in as a resident by phone
    assert response.status_code == 302
    assert response["Location"].startswith("/r/login/")


def test_login_via_compound_qr_binds_the_resident_to_its_grid(client, tree: AreaTree) -> None:
    from gridgov.portal.services import compound_qr_ensure

    # given a compound's QR address opened by a visitor
    qr = compound_qr_ensure(compound=tree.compounds[2])
    response = client.get(f"/r/c/{qr.token}/")
    assert response.status_code == 302 and response["Location"].startswith("/r/login/")
    assert tree.compounds[2].name in client.get(response["Location"]).content.decode()
    # when they sign in by code
    client.post("/r/login/", {"phone": PHONE, "next": f"/r/c/{qr.token}/"})
    response = client.post("/r/login/code/", {"code": last_sms_code(PHONE), "next": f"/r/c/{qr.token}/"})
    # then they return to the report page of that compound, as a resident of its grid
    assert response["Location"] == f"/r/c/{qr.token}/"
    identity = identity_of(PHONE)
    assert RoleAssignment.objects.get(user=identity.user).area == tree.grids[2]
    assert identity.compound == tree.compounds[2]


def test_next_outside_the_portal_is_ignored(client, tree: AreaTree) -> None:
    client.post("/r/login/", {"phone": PHONE, "next": "https://evil.example/"})
    response = client.post("/r/login/code/", {"code": last_sms_code(PHONE), "next": "https://evil.example/"})
    assert response["Location"] == "/r/"


def test_one_phone_gets_at_most_ten_codes_an_hour(tree: AreaTree) -> None:
    # given ten codes for one phone, two minutes apart, from different addresses
    start = timezone.now()
    for n in range(10):
        login_code_request(phone=PHONE, client_ip=f"10.7.0.{n}", now=start + timedelta(minutes=2 * n))
    # when the phone asks an eleventh time within the hour
    with pytest.raises(Exception) as refusal:
        login_code_request(phone=PHONE, client_ip="10.7.1.1", now=start + timedelta(minutes=25))
    # then it must wait until the first of them is an hour old
    assert "秒后再重新获取" in " ".join(refusal.value.messages)
    assert 30 * 60 <= refusal.value.retry_after <= 35 * 60 + 1


def test_an_account_staff_switched_off_is_not_revived_by_a_code(tree: AreaTree) -> None:
    # given a resident who signed in once, then was switched off by staff
    sent = login_code_request(phone=PHONE, client_ip="10.0.0.7")
    user = login_code_check(identity=sent.identity, code=last_sms_code(PHONE))
    User.objects.filter(pk=user.pk).update(is_active=False)
    # when a new code is asked for
    with pytest.raises(Exception) as refusal:
        login_code_request(phone=PHONE, client_ip="10.0.0.7", now=timezone.now() + timedelta(minutes=2))
    # then none is sent, and the account stays off
    assert "账号已停用" in " ".join(refusal.value.messages)
    assert Notice.objects.filter(channel="sms").count() == 1
    assert not User.objects.get(pk=user.pk).is_active


def test_signed_in_resident_skips_the_phone_page(client, tree: AreaTree) -> None:
    from gridgov.testing.portal import make_resident

    client.force_login(make_resident(PHONE))
    response = client.get("/r/login/?next=/r/my/")
    assert response.status_code == 302 and response["Location"] == "/r/my/"
