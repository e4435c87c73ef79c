from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The operators' tools over every app's tables: backup and restore, retention and its
    archives, the wipe, the persistence invariants, users' data exports. It owns no table (the
    rows it reads and writes belong to the apps below it) and sits at the top of the layers."""

    name = "operations"
    verbose_name = "Operations"
