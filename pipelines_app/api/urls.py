from django.urls import path

from pipelines_app.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit/", views.AuditEventList.as_view(), name="api-audit"),
]
