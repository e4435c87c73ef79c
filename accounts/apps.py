from django.apps import AppConfig
from django.db.models.signals import post_migrate

from config.sql_sources import install_app_sql


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import schema  # noqa: F401 - registers the OpenAPI auth extension

        # accounts/sql/*.sql, installed after every migrate when changed (config/sql_sources.py).
        post_migrate.connect(install_app_sql, sender=self, dispatch_uid="accounts.sql_sources")
