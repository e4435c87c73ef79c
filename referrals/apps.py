from django.apps import AppConfig
from django.db.models.signals import post_migrate

from config.sql_sources import install_app_sql


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Invites and referrals"

    def ready(self):
        # Connected here, once the app registry is loaded (services import models).
        from accounts.signals import access_granted
        from referrals.receivers import give_qr_verified_user_a_code

        access_granted.connect(give_qr_verified_user_a_code, dispatch_uid="referrals.qr_verified_code")
        # referrals/sql/*.sql, installed after every migrate when changed (config/sql_sources.py).
        post_migrate.connect(install_app_sql, sender=self, dispatch_uid="referrals.sql_sources")
