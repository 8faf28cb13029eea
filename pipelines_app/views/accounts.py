from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from pipelines_app.models import AuditEvent


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        # Wrong credentials are bad input: say so with a 400, not a 200.
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("overview")

    def form_valid(self, form):
        response = super().form_valid(form)
        AuditEvent.objects.record(self.request.user, "account.password_changed", self.request.user)
        messages.success(self.request, "Your password was changed.")
        return response

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)
