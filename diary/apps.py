from django.apps import AppConfig


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "Vitiligo diary"

    def ready(self) -> None:
        # Registers the tasks, which the services publish by name (services never import tasks).
        from . import (
            receivers,  # noqa: F401  (connects the signal receivers)
            tasks,  # noqa: F401
        )
