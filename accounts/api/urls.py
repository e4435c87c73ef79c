from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/login", views.LoginView.as_view(), name="login"),
    path("auth/logout", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-everywhere", views.LogoutEverywhereView.as_view(), name="logout-everywhere"),
    path("auth/password/forgot", views.ForgotPasswordView.as_view(), name="password-forgot"),
    path("auth/password/reset", views.ResetPasswordView.as_view(), name="password-reset"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/selfie", views.SelfieView.as_view(), name="me-selfie"),
    path("me/video", views.VideoView.as_view(), name="me-video"),
]
