from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        # Connected here, once the app registry is loaded (receivers import models).
        from accounts.signals import account_deleting
        from moderation.receivers import delete_exports_of_deleted_account

        account_deleting.connect(
            delete_exports_of_deleted_account, dispatch_uid="moderation.delete_exports_of_deleted_account"
        )
