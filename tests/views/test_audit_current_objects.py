"""The audit log and the overview name an event's object as it is now (name, status, link), not as it was called
when the event was written, in one query per object type."""

from pipelines_app.engine.approvals import decide
from pipelines_app.models import ApprovalRequest, AuditEvent


def _requested(editor, n=1):
    requests = []
    for _ in range(n):
        request = ApprovalRequest.objects.create(
            approver_groups=["reviewers"], requested_by=editor, environment="production", message="Go?"
        )
        AuditEvent.objects.record(editor, "approval.requested", request)
        requests.append(request)
    return requests


def test_an_approved_request_reads_approved_in_the_audit_log(client_for, editor, reviewer, environments):
    (request,) = _requested(editor)
    decide(request, reviewer, True)
    text = client_for(reviewer).get("/audit/?object_type=approvalrequest").content.decode()
    assert f'<a href="/approvals/{request.pk}/" title="Recorded as:' in text
    assert f"approval {request.pk} for production</a>" in text
    assert 'class="run-status run-approved approval-approved">approved</span>' in text
    assert "(pending)" not in text


def test_the_stored_name_is_kept_for_an_object_that_is_gone(client_for, admin_user, editor, environments):
    AuditEvent.objects.record(
        editor, "approval.requested", object_type="approvalrequest", object_id="999", object_repr="approval 999"
    )
    text = client_for(admin_user).get("/audit/").content.decode()
    assert 'approval 999 <small class="muted">(no longer exists)</small>' in text


def test_the_audit_page_looks_objects_up_in_one_query_per_type(
    client_for, editor, reviewer, environments, django_assert_max_num_queries
):
    c = client_for(reviewer)
    _requested(editor, 2)
    with django_assert_max_num_queries(12) as few:
        c.get("/audit/")
    _requested(editor, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        text = c.get("/audit/").content.decode()
    assert text.count("approval-pending") == 22


def test_the_overview_names_the_request_by_its_current_status(client_for, editor, reviewer, environments):
    (request,) = _requested(editor)
    decide(request, reviewer, False, "not this one")
    text = client_for(reviewer).get("/").content.decode()
    assert f"approval {request.pk} for production</a>" in text
    assert "run-rejected approval-rejected" in text
    assert f"approval {request.pk} (pending)" not in text


def test_a_request_is_named_without_its_status():
    assert str(ApprovalRequest(pk=4, environment="production")) == "approval 4 for production"
    assert str(ApprovalRequest(pk=5)) == "approval 5"
