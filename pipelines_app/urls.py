from django.contrib.auth import views as auth_views
from django.urls import path

from pipelines_app.views import accounts, audit, core

urlpatterns = [
    path("", core.overview, name="overview"),
    path("system/workers/", core.worker_status_fragment, name="worker-status"),
    path("system/workers/check/", core.check_workers, name="worker-check"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password-change"),
    path("audit/", audit.audit_log, name="audit"),
]
urlpatterns += [path(f"{key}/", core.section_view(key), name=key) for key in core.SECTIONS]
