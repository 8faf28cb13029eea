from django.urls import reverse

from pipelines_app.models import ApprovalRequest, Notification
from pipelines_app.permissions import role_of

# (label, url name, URL prefix that marks it active)
NAVIGATION = [
    ("Overview", "overview", "/"),
    ("Pipelines", "pipelines", "/pipelines/"),
    ("Runs", "runs", "/runs/"),
    ("Approvals", "approvals", "/approvals/"),
    ("Models", "models", "/models/"),
    ("Deployments", "deployments", "/deployments/"),
    ("Monitoring", "monitoring", "/monitoring/"),
    ("Datasets", "datasets", "/datasets/"),
    ("Audit", "audit", "/audit/"),
]


def shell(request):
    """What the base template needs on every page: navigation, the user's role."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    path = request.path
    nav = []
    for label, name, prefix in NAVIGATION:
        active = path == "/" if prefix == "/" else path.startswith(prefix)
        nav.append({"label": label, "url": reverse(name), "active": active})
    role = role_of(request.user)
    return {
        "nav_items": nav,
        "user_role": role.label if role else "no role",
        "pending_approvals": ApprovalRequest.objects.waiting_for(request.user).count(),
        "unread_notifications": Notification.objects.unread_for(request.user).count(),
    }
