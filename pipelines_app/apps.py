from django.apps import AppConfig


class PipelinesAppConfig(AppConfig):
    name = "pipelines_app"
    verbose_name = "MLOps Site"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipelines_app import signals  # noqa: F401  (connects the audit receivers)
