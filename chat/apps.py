from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat and rooms"

    def ready(self):
        # Connected here, once the app registry is loaded (services import models).
        from accounts.signals import account_deleting
        from chat.receivers import block_bars_introduction, end_room_of_deleted_account
        from referrals.signals import introduction_barred

        account_deleting.connect(end_room_of_deleted_account, dispatch_uid="chat.end_room_of_deleted_account")
        introduction_barred.connect(block_bars_introduction, dispatch_uid="chat.block_bars_introduction")
