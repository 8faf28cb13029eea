"""Notifications are read when their subject is acted on: a decision reads the decider's "Approval needed", a
closed request every reviewer's; opening a notification from the inbox reads it. A page view alone reads nothing."""

from pipelines_app.engine.approvals import decide, expire_due
from pipelines_app.models import ApprovalRequest, Notification
from pipelines_app.notifications import notify_reviewers
from tests.conftest import make_user


def _request(editor, min_approvals=1):
    request = ApprovalRequest.objects.create(
        approver_groups=["reviewers"], min_approvals=min_approvals, requested_by=editor, message="Promote v2?"
    )
    notify_reviewers(request)
    return request


def test_deciding_reads_the_deciders_approval_needed(editor, reviewer, environments):
    second = make_user("rex-reviewer", "reviewer")
    request = _request(editor, min_approvals=2)
    decide(request, reviewer, True)
    assert not Notification.objects.unread_for(reviewer).exists()
    assert Notification.objects.unread_for(second).count() == 1  # still theirs to decide


def test_a_closed_request_reads_every_reviewers_notification(editor, reviewer, environments):
    second = make_user("rex-reviewer", "reviewer")
    request = _request(editor)
    decide(request, reviewer, True)
    assert not Notification.objects.unread_for(second).exists()
    assert not Notification.objects.unread_for(reviewer).exists()


def test_a_timed_out_request_reads_them_too(editor, reviewer, environments):
    from datetime import timedelta

    from django.utils import timezone

    request = _request(editor)
    ApprovalRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    assert expire_due() == 1
    assert not Notification.objects.unread_for(reviewer).exists()


def test_the_requester_still_hears_the_decision_unread(editor, reviewer, environments):
    from tests.conftest import settle

    request = _request(editor)
    decide(request, reviewer, True)
    settle()
    assert list(Notification.objects.unread_for(editor).values_list("message", flat=True)) == [
        "Your request 'Promote v2?' was approved."
    ]


def test_opening_a_notification_reads_it_and_goes_to_its_page(client_for, editor):
    (note,) = Notification.objects.notify([editor], "churn: run 7 failed", "/runs/7/")
    c = client_for(editor)
    assert f'action="/accounts/notifications/{note.pk}/open/"' in c.get("/accounts/notifications/").content.decode()
    response = c.post(f"/accounts/notifications/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/runs/7/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_opening_rejects_get_and_other_peoples_notifications(client_for, editor, viewer):
    (note,) = Notification.objects.notify([editor], "for the editor", "/runs/7/")
    assert client_for(editor).get(f"/accounts/notifications/{note.pk}/open/").status_code == 405
    assert client_for(viewer).post(f"/accounts/notifications/{note.pk}/open/").status_code == 404
    assert Notification.objects.unread_for(editor).count() == 1


def test_a_stored_url_never_sends_the_user_off_site(client_for, editor):
    (note,) = Notification.objects.notify([editor], "odd", "//evil.example.com/")
    response = client_for(editor).post(f"/accounts/notifications/{note.pk}/open/")
    assert response["Location"] == "/accounts/notifications/"
