from django.apps import AppConfig
from django.db.models.signals import post_migrate

from config.sql_sources import install_app_sql


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        # moderation/sql/*.sql (the views lower layers read), installed after every migrate
        # when changed (config/sql_sources.py).
        post_migrate.connect(install_app_sql, sender=self, dispatch_uid="moderation.sql_sources")

        from moderation.screening_cases import on_case_requested, on_strike_requested
        from screening.signals import case_requested, strike_requested

        case_requested.connect(on_case_requested, dispatch_uid="moderation.screening_cases")
        strike_requested.connect(on_strike_requested, dispatch_uid="moderation.screening_strikes")
