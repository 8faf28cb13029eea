from django.apps import AppConfig


class PipelinesAppConfig(AppConfig):
    name = "pipelines_app"
    verbose_name = "MLOps Site"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, not at the top: models, and the steps that use them, may load only once apps are ready.
        from pipelines_app import signals  # noqa: F401  (connects the audit receivers)
        from pipelines_app.steps.registry import register_configured_step_types

        register_configured_step_types()
