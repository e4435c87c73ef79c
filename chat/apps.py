from django.apps import AppConfig
from django.db.models.signals import post_migrate

from config.sql_sources import install_app_sql


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat and rooms"

    def ready(self):
        # Connected here, once the app registry is loaded (services import models).
        from accounts.signals import account_deleting, discoverability_changed
        from chat.receivers import (
            apply_discoverability,
            block_bars_introduction,
            delete_photos_of_deleted_account,
            end_room_of_deleted_account,
        )
        from referrals.signals import introduction_barred

        account_deleting.connect(end_room_of_deleted_account, dispatch_uid="chat.end_room_of_deleted_account")
        account_deleting.connect(delete_photos_of_deleted_account, dispatch_uid="chat.delete_photos_of_deleted_account")
        discoverability_changed.connect(apply_discoverability, dispatch_uid="chat.apply_discoverability")
        introduction_barred.connect(block_bars_introduction, dispatch_uid="chat.block_bars_introduction")
        # chat/sql/*.sql, installed after every migrate when changed (config/sql_sources.py).
        post_migrate.connect(install_app_sql, sender=self, dispatch_uid="chat.sql_sources")
