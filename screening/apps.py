from django.apps import AppConfig
from django.db.models.signals import post_migrate

from config.sql_sources import install_app_sql


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = "Screening"

    def ready(self):
        from screening import receivers  # noqa: F401  (accounts' media and deletion signals)

        # screening/sql/*.sql (the view chat's SQL reads), installed after every migrate when changed.
        post_migrate.connect(install_app_sql, sender=self, dispatch_uid="screening.sql_sources")
