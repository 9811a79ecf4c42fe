"""The outbox: notices exist only when their change committed, and delivery is repeatable."""

from __future__ import annotations

import pytest
from django.db import transaction

from gridgov.accounts.choices import Role
from gridgov.notices.choices import Channel, NoticeKind
from gridgov.notices.models import InboxMessage, Notice
from gridgov.notices.services import inbox_mark_read, notices_deliver, notices_queue
from gridgov.testing.factories import make_user_with_role


class FailingBackend:
    def send(self, notice: Notice) -> None:
        raise ConnectionError("短信网关不可达")


@pytest.fixture
def worker(tree):
    return make_user_with_role(Role.GRID_WORKER, tree.grids[0])


def test_a_rolled_back_change_leaves_no_notice(worker):
    # Given a change that fails after queueing its notice
    with pytest.raises(RuntimeError), transaction.atomic():
        notices_queue(recipient_ids=[worker.pk], kind=NoticeKind.NEW_CASE, title="新事项")
        raise RuntimeError("the change failed")
    # Then nothing is waiting to be delivered
    assert not Notice.objects.exists()


def test_delivery_puts_each_notice_in_the_inbox_exactly_once(worker):
    notices_queue(recipient_ids=[worker.pk, worker.pk], kind=NoticeKind.NEW_CASE, title="新事项", link="/cases/1/")
    # When the worker delivers twice (e.g. after a crash between the two writes)
    assert notices_deliver() == 1
    Notice.objects.update(delivered_at=None)
    notices_deliver()
    # Then the inbox has one message, unread
    message = InboxMessage.objects.get()
    assert (message.user, message.title, message.link, message.read_at) == (worker, "新事项", "/cases/1/", None)
    assert inbox_mark_read(user=worker) == 1


def test_urgent_kinds_also_go_out_by_sms_through_the_configured_backend(worker, settings, monkeypatch):
    from gridgov.notices import services

    services._backends.cache_clear()
    settings.NOTICE_BACKENDS = "sms=gridgov.notices.backends.LogBackend"
    try:
        notices_queue(recipient_ids=[worker.pk], kind=NoticeKind.SUPERVISION, title="督办")
        notices_queue(recipient_ids=[worker.pk], kind=NoticeKind.CASE_UPDATE, title="进展")
        channels = sorted(Notice.objects.values_list("kind", "channel"))
        assert channels == [
            (NoticeKind.CASE_UPDATE, Channel.INBOX),
            (NoticeKind.SUPERVISION, Channel.INBOX),
            (NoticeKind.SUPERVISION, Channel.SMS),
        ]
        assert notices_deliver() == 3
    finally:
        services._backends.cache_clear()


def test_a_failing_backend_is_retried_later_and_does_not_block_the_inbox(worker, monkeypatch):
    from gridgov.notices import services

    monkeypatch.setattr(services, "_backends", lambda: {Channel.SMS: FailingBackend()})
    monkeypatch.setattr(services, "extra_channels", lambda: {Channel.SMS})
    notices_queue(recipient_ids=[worker.pk], kind=NoticeKind.SLA_WARNING, title="即将超时")
    # When delivery runs, the inbox copy arrives and the SMS waits with its error
    assert notices_deliver() == 1
    sms = Notice.objects.get(channel=Channel.SMS)
    assert (sms.delivered_at, sms.attempts, sms.last_error) == (None, 1, "短信网关不可达")
    assert InboxMessage.objects.filter(user=worker).count() == 1
