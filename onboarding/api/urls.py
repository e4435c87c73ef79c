from django.urls import path

from onboarding.api import views

urlpatterns = [
    path("auth/signup", views.SignUpView.as_view(), name="signup"),
    path("me/email", views.EmailStartView.as_view(), name="me-email"),
    path("me/email/verify", views.EmailVerifyView.as_view(), name="me-email-verify"),
    path("me/make-permanent", views.MakePermanentView.as_view(), name="me-make-permanent"),
    path("me/skip-permanent", views.SkipPermanentView.as_view(), name="me-skip-permanent"),
    path("me/invite-code/redeem", views.RedeemInviteCodeView.as_view(), name="me-invite-code-redeem"),
]
