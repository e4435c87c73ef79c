from django.apps import AppConfig


class UscCardsConfig(AppConfig):
    name = "usc_cards"
    verbose_name = "USC cards"
