from django.apps import AppConfig


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "Vitiligo diary"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)
