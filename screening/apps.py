from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = "Screening"

    def ready(self):
        from screening import receivers  # noqa: F401  (accounts' media and deletion signals)
