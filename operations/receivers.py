"""Operations' reactions to accounts.signals (connected in OperationsConfig.ready())."""

from django.core.files.storage import default_storage
from django.db import transaction

from moderation.models import DataExport


def delete_exports_of_deleted_account(sender, *, user, **kwargs):
    """A deleted account's data export files go in the same operation, once it commits (the rows
    cascade with the user; a rolled-back deletion keeps both). A build still running when the
    account goes finds its row gone and deletes its own file (operations.exports.build_export)."""
    names = list(DataExport.objects.filter(user_id=user.pk).exclude(file="").values_list("file", flat=True))
    for name in names:
        transaction.on_commit(lambda name=name: default_storage.delete(name), robust=True)
