"""Sign-ins and sign-outs are audit events."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from mlops_site.client_address import client_address
from pipelines_app.models import AuditEvent


def _address(request):
    # The same address the lockout counts failures by, so that the audit names whom a lockout was for.
    return client_address(request) if request is not None else ""


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    AuditEvent.objects.record(user, "account.login", user, {"ip": _address(request)})


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        AuditEvent.objects.record(user, "account.logout", user, {"ip": _address(request)})


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    AuditEvent.objects.record(
        username or "anonymous", "account.login_failed", None, {"ip": _address(request), "username": username}
    )
