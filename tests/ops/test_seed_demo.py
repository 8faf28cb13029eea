"""seed_demo creates one user per role and is safe to run again."""

from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command

from pipelines_app.models import AuditEvent
from pipelines_app.permissions import Role, role_of


def seed(**kwargs):
    out = StringIO()
    call_command("seed_demo", stdout=out, **kwargs)
    return out.getvalue()


def test_it_creates_one_user_per_role_and_prints_logins(db):
    out = seed(password="Demo-pass-123")
    roles = {u.username: role_of(u) for u in User.objects.all()}
    assert roles == {
        "admin": Role.ADMIN,
        "editor": Role.EDITOR,
        "reviewer": Role.REVIEWER,
        "reviewer2": Role.REVIEWER,
        "viewer": Role.VIEWER,
    }
    assert User.objects.get(username="editor").check_password("Demo-pass-123")
    assert "demo only" in out
    assert "reviewer2" in out and "Demo-pass-123" in out


def test_running_it_twice_changes_nothing_but_the_password(db):
    seed(password="Demo-pass-123")
    seed(password="Other-pass-456")
    assert User.objects.count() == 5
    assert AuditEvent.objects.filter(verb="demo.user_created").count() == 5
    assert User.objects.get(username="viewer").check_password("Other-pass-456")
    assert list(User.objects.get(username="viewer").groups.values_list("name", flat=True)) == ["viewers"]


def test_without_a_password_it_keeps_one_random_password(db, settings, tmp_path):
    settings.DEMO_PASSWORD = ""
    settings.VAR_DIR = tmp_path
    first = seed()
    second = seed()
    password = (tmp_path / "demo-password").read_text().strip()
    assert len(password) >= 12
    assert password in first and password in second
    assert User.objects.get(username="admin").check_password(password)
