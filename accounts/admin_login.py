"""The admin login form, throttled with the API login's budgets (accounts.services.login_throttle):
one budget per address and per account, whichever door; a locked form says so and for how long."""

import math

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from accounts.services import login_throttle
from config.client_ip import request_ip
from config.errors import RateLimited


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "rate_limited": (
            "Too many sign-in attempts for this account or from this address. Try again in %(minutes)d minute(s)."
        ),
    }

    def clean(self):
        email, ip = self.cleaned_data.get("username"), request_ip(self.request)
        try:
            login_throttle.start_admin_login(email, ip=ip)
        except RateLimited as exc:
            minutes = max(1, math.ceil(exc.retry_after / 60))
            raise ValidationError(
                self.error_messages["rate_limited"], code="rate_limited", params={"minutes": minutes}
            ) from exc
        try:
            return super().clean()
        except ValidationError:
            if self.user_cache is None:  # a wrong email or password (not a member without staff rights)
                login_throttle.fail_admin_login(email, ip=ip)
            raise
