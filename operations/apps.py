from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The operators' tools over every app's tables: backup and restore, retention and its
    archives, the wipe, the persistence invariants, users' data exports. It owns no table (the
    rows it reads and writes belong to the apps below it) and sits at the top of the layers."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        # Connected here, once the app registry is loaded (receivers import models).
        from accounts.signals import account_deleting
        from operations.receivers import delete_exports_of_deleted_account

        account_deleting.connect(
            delete_exports_of_deleted_account, dispatch_uid="operations.delete_exports_of_deleted_account"
        )
