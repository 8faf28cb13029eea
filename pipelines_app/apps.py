from django.apps import AppConfig


class PipelinesAppConfig(AppConfig):
    name = "pipelines_app"
    verbose_name = "MLOps Site"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pipelines_app import signals  # noqa: F401  (connects the audit receivers)

        register_extra_step_types()


def register_extra_step_types():
    """Step types from settings.PIPELINE_STEP_TYPES: name -> dotted path of a class with ``run(ctx)`` and a
    ``Spec`` (a pydantic subclass of pipelines_app.spec.BaseStep) that the pipeline file is checked against."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    from pipelines_app.spec import register_step_type

    for name, path in getattr(settings, "PIPELINE_STEP_TYPES", {}).items():
        register_step_type(name, import_string(path).Spec)
