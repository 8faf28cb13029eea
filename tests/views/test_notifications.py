"""In-app notifications: reviewers hear of requests waiting for them, requesters of decisions."""

from django.core import mail

from pipelines_app.models import ApprovalRequest, Notification
from pipelines_app.notifications import notify_reviewers
from tests.conftest import make_user


def test_reviewers_are_told_of_a_request_but_not_the_requester(editor, reviewer, viewer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reviewer_who_asked = make_user("rob-reviewer", "reviewer")
    request = ApprovalRequest.objects.create(
        approver_groups=["reviewers"], requested_by=reviewer_who_asked, message="Promote churn v3?"
    )
    notify_reviewers(request)
    assert list(Notification.objects.values_list("user__username", flat=True)) == [reviewer.username]
    assert mail.outbox[0].to == [reviewer.email] and "Promote churn v3?" in mail.outbox[0].subject


def test_the_requester_hears_the_decision(editor, reviewer, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    request = ApprovalRequest.objects.create(approver_groups=["reviewers"], requested_by=editor, message="Go?")
    with django_capture_on_commit_callbacks(execute=True):
        request.decide(reviewer, False, "not yet")
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
