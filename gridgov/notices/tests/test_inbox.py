"""The in-app inbox: one's own messages only, unread first, marked read one by one or all at once."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.cases.services import case_accept, case_escalate
from gridgov.notices.models import InboxMessage
from gridgov.notices.services import notices_deliver
from gridgov.testing.cases import submit_case

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_the_grid_worker_finds_the_new_case_in_their_inbox_and_others_do_not(client, tree, personas):
    # given a case in grid 0, and the notices delivered by the worker process
    submit_case(personas["grid_worker"], tree.grids[0], title="井盖缺失")
    notices_deliver()
    # when the grid worker opens any page
    page = signed_in(client, personas["grid_worker"]).get("/inbox/").content.decode()
    # then the top bar counts one unread message and the inbox lists it with a link to the case
    assert '<span class="nav-count"' in page and ">1</span>" in page
    assert "新事项：井盖缺失" in page and f"/inbox/{InboxMessage.objects.get().pk}/open/" in page
    # and the outsider's inbox is empty
    outsider_page = signed_in(client, personas["outsider"]).get("/inbox/").content.decode()
    assert "井盖缺失" not in outsider_page and "暂无消息" in outsider_page and "nav-count" not in outsider_page


def test_opening_a_message_marks_it_read_and_goes_to_the_case(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    notices_deliver()
    message = InboxMessage.objects.get(user=personas["grid_worker"])
    response = signed_in(client, personas["grid_worker"]).post(f"/inbox/{message.pk}/open/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    message.refresh_from_db()
    assert message.read_at is not None


def test_another_users_message_cannot_be_read_or_marked(client, tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0])
    notices_deliver()
    message = InboxMessage.objects.get(user=personas["grid_worker"])
    signed_in(client, personas["outsider"])
    assert client.post(f"/inbox/{message.pk}/read/").status_code == 404
    assert client.post(f"/inbox/{message.pk}/open/").status_code == 404
    client.post("/inbox/read-all/")
    message.refresh_from_db()
    assert message.read_at is None


def test_unread_messages_come_first_and_can_be_marked_one_by_one_or_all(client, tree, personas):
    worker, community = personas["grid_worker"], personas["community_staff"]
    # given three cases escalated to the community: three messages for the community staff
    for title in ("一号事项", "二号事项", "三号事项"):
        case = submit_case(worker, tree.grids[0], title=title)
        case_accept(actor=worker, case=case)
        case_escalate(actor=worker, case=case, reason="需要社区协调")
    notices_deliver()
    messages = list(InboxMessage.objects.filter(user=community).order_by("id"))
    assert len(messages) == 3
    signed_in(client, community)
    # when the newest is marked read, it moves below the unread ones
    client.post(f"/inbox/{messages[2].pk}/read/")
    page = client.get("/inbox/").content.decode()
    assert page.index("一号事项") < page.index("三号事项") and page.index("二号事项") < page.index("三号事项")
    assert "2 条未读" in page
    # when all are marked read, nothing is unread
    response = client.post("/inbox/read-all/", follow=True)
    assert "已将 2 条消息标为已读" in response.content.decode()
    assert not InboxMessage.objects.filter(user=community, read_at__isnull=True).exists()
    assert "nav-count" not in client.get("/inbox/").content.decode()


def test_marking_read_needs_a_post(client, tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0])
    notices_deliver()
    message = InboxMessage.objects.get()
    assert signed_in(client, personas["grid_worker"]).get(f"/inbox/{message.pk}/read/").status_code == 405
    message.refresh_from_db()
    assert message.read_at is None
