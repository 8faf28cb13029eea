"""In-app notifications: reviewers hear of requests waiting for them, requesters of decisions."""

from django.core import mail

from pipelines_app import notifications
from pipelines_app.engine.approvals import decide
from pipelines_app.models import ApprovalRequest, Notification
from pipelines_app.notifications import notify_reviewers, queue_emails, queue_webhooks
from tests.conftest import make_user, settle


def test_reviewers_are_told_of_a_request_but_not_the_requester(editor, reviewer, viewer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reviewer_who_asked = make_user("rob-reviewer", "reviewer")
    request = ApprovalRequest.objects.create(
        approver_groups=["reviewers"], requested_by=reviewer_who_asked, message="Promote churn v3?"
    )
    notify_reviewers(request)
    settle()
    assert list(Notification.objects.values_list("user__username", flat=True)) == [reviewer.username]
    assert mail.outbox[0].to == [reviewer.email] and "Promote churn v3?" in mail.outbox[0].subject


def test_the_requester_hears_the_decision(editor, reviewer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    request = ApprovalRequest.objects.create(approver_groups=["reviewers"], requested_by=editor, message="Go?")
    decide(request, reviewer, False, "not yet")
    settle()
    note = Notification.objects.get(user=editor)
    assert "was rejected" in note.message
    assert mail.outbox[-1].to == [editor.email]


def test_page_badge_and_mark_read(client_for, editor):
    Notification.objects.notify([editor], "Run 7 of churn failed", "/runs/7/")
    c = client_for(editor)
    page = c.get("/accounts/notifications/").content.decode()
    assert "Run 7 of churn failed" in page and 'title="1 unread notification"' in page
    assert c.post("/accounts/notifications/read/").status_code == 302
    assert not Notification.objects.unread_for(editor).exists()
    assert "No notifications." not in c.get("/accounts/notifications/").content.decode()


def test_mark_read_rejects_get_and_is_per_user(client_for, editor, viewer):
    Notification.objects.notify([editor], "for the editor")
    assert client_for(viewer).get("/accounts/notifications/read/").status_code == 405
    client_for(viewer).post("/accounts/notifications/read/")
    assert Notification.objects.unread_for(editor).count() == 1
    assert "No notifications." in client_for(viewer).get("/accounts/notifications/").content.decode()


def test_admins_see_every_delivery_and_can_filter_them(client_for, admin_user, editor, settings, db):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    queue_emails(["ops@example.com"], "[MLOps Site] hello", "text", "admin")
    queue_webhooks(["httpx://hooks.example.com/x"], {"event": "test"}, "alert")
    settle()
    page = client_for(admin_user).get("/accounts/deliveries/").content.decode()
    assert 'data-delivery-status="delivered"' in page and "ops@example.com" in page
    assert 'data-delivery-status="refused"' in page
    refused_only = client_for(admin_user).get("/accounts/deliveries/?status=refused").content.decode()
    assert "ops@example.com" not in refused_only and "hooks.example.com" in refused_only
    assert client_for(admin_user).get("/accounts/deliveries/?status=queued").status_code == 200
    assert (
        "No delivery matches these filters."
        in client_for(admin_user).get("/accounts/deliveries/?status=queued").content.decode()
    )


def test_only_admins_see_the_deliveries_page(client_for, editor, reviewer):
    assert client_for(editor).get("/accounts/deliveries/").status_code == 403
    assert client_for(reviewer).get("/accounts/deliveries/").status_code == 403


def test_a_failing_mail_server_is_retried_then_delivered(editor, settings, monkeypatch, db):
    settings.NOTIFY_RETRY_BACKOFF_S = 0
    calls = []

    def flaky_send_mail(subject, body, sender, to):
        calls.append(to)
        if len(calls) == 1:
            raise ConnectionRefusedError("mail server down")
        return 1

    monkeypatch.setattr(notifications, "send_mail", flaky_send_mail)
    [delivery] = queue_emails([editor.email], "[MLOps Site] hi", "text", "admin")
    settle()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("queued", 1) and "mail server down" in delivery.error
    settle()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert calls == [[editor.email], [editor.email]]
