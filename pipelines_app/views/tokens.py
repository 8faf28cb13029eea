"""The user's own API tokens: issue (shown once), list, revoke."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipelines_app.forms import TokenForm
from pipelines_app.models import ApiToken, AuditEvent
from pipelines_app.permissions import Role, role_required


def _tokens(user):
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


@role_required(Role.VIEWER)
def token_list(request):
    new_key = None
    status = 200
    form = TokenForm()
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            token, new_key = ApiToken.objects.issue(
                request.user, name=form.cleaned_data["name"], predict_only=form.cleaned_data["predict_only"]
            )
            AuditEvent.objects.record(
                request.user, "token.issued", token, {"predict_only": token.predict_only, "prefix": token.prefix}
            )
            form = TokenForm()
        else:
            status = 400
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": _tokens(request.user), "form": form, "new_key": new_key},
        status=status,
    )


@require_POST
@role_required(Role.VIEWER)
def token_revoke(request, pk):
    token = get_object_or_404(_tokens(request.user), pk=pk)
    token.revoke()
    AuditEvent.objects.record(request.user, "token.revoked", token, {"prefix": token.prefix})
    messages.success(request, f"Revoked token {token.prefix}…; programs using it are now refused.")
    return redirect("tokens")
