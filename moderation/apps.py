from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        from moderation.screening_cases import on_case_requested, on_strike_requested
        from screening.signals import case_requested, strike_requested

        case_requested.connect(on_case_requested, dispatch_uid="moderation.screening_cases")
        strike_requested.connect(on_strike_requested, dispatch_uid="moderation.screening_strikes")
