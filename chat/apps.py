from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat and rooms"

    def ready(self):
        from accounts.services.profile import ACCOUNT_DELETION_HOOKS
        from chat.services import end_live_room_of

        def end_room_of_deleted_account(user):
            """A deleted account's live call ends properly, so the partner keeps their history."""
            end_live_room_of(user.pk, reason="account_deleted")

        ACCOUNT_DELETION_HOOKS.append(end_room_of_deleted_account)
