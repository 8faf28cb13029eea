from django.urls import reverse

from pipelines_app.models import Alert, ApprovalRequest, Notification
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
    ("Alerts", "alerts", "/monitoring/alerts/"),
    ("Datasets", "datasets", "/datasets/"),
    ("Audit", "audit", "/audit/"),
]


def shell(request):
    """What the base template needs on every page: navigation, the user's role."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    path = request.path
    # The longest prefix that matches marks its item: /monitoring/alerts/ is Alerts, not Monitoring.
    matches = [prefix for _, _, prefix in NAVIGATION if path == prefix or (prefix != "/" and path.startswith(prefix))]
    current = max(matches, key=len, default=None)
    pending = ApprovalRequest.objects.waiting_for(request.user).count()
    firing = Alert.objects.firing().count()
    counts = {
        "Approvals": (pending, f"{pending} waiting for you"),
        "Alerts": (firing, f"{firing} firing"),
    }
    nav = []
    for label, name, prefix in NAVIGATION:
        count, title = counts.get(label, (0, ""))
        nav.append({"label": label, "url": reverse(name), "active": prefix == current, "count": count, "title": title})
    role = role_of(request.user)
    return {
        "nav_items": nav,
        "user_role": role.label if role else "no role",
        "pending_approvals": pending,
        "firing_alerts": firing,
        "nav_attention": pending + firing,  # on the menu button when the navigation is folded away
        "unread_notifications": Notification.objects.unread_for(request.user).count(),
    }
