from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/signup", views.SignUpView.as_view(), name="signup"),
    path("auth/login", views.LoginView.as_view(), name="login"),
    path("auth/logout", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-everywhere", views.LogoutEverywhereView.as_view(), name="logout-everywhere"),
    path("auth/password/forgot", views.ForgotPasswordView.as_view(), name="password-forgot"),
    path("auth/password/reset", views.ResetPasswordView.as_view(), name="password-reset"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/email", views.EmailStartView.as_view(), name="me-email"),
    path("me/email/verify", views.EmailVerifyView.as_view(), name="me-email-verify"),
    path("me/make-permanent", views.MakePermanentView.as_view(), name="me-make-permanent"),
    path("me/skip-permanent", views.SkipPermanentView.as_view(), name="me-skip-permanent"),
    path("me/selfie", views.SelfieView.as_view(), name="me-selfie"),
    path("me/video", views.VideoView.as_view(), name="me-video"),
    path("me/ban", views.MyBanView.as_view(), name="me-ban"),
    path("me/invite-code", views.MyInviteCodeView.as_view(), name="me-invite-code"),
    path("me/invite-code.png", views.MyInviteCodePngView.as_view(), name="me-invite-code-png"),
    path("me/invite-code/redeem", views.RedeemInviteCodeView.as_view(), name="me-invite-code-redeem"),
]
