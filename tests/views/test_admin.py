"""The Django admin lists every model for admins."""

import pytest
from django.apps import apps


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_app_config("pipelines_app").get_models() if m.__name__ not in ("StepRun", "ApprovalDecision")],
    ids=lambda m: m.__name__,
)
def test_admin_lists_every_model(client_for, admin_user, model):
    url = f"/admin/pipelines_app/{model._meta.model_name}/"
    assert client_for(admin_user).get(url).status_code == 200
