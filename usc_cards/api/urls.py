from django.urls import path

from usc_cards.api import views

urlpatterns = [
    path("usc/verify-card", views.VerifyCardView.as_view(), name="usc-verify-card"),
    path("usc/finalize-registration", views.FinalizeRegistrationView.as_view(), name="usc-finalize-registration"),
    path("usc/card", views.MyCardView.as_view(), name="usc-card"),
    path("usc/login/start", views.CardLoginStartView.as_view(), name="usc-login-start"),
    path("usc/login/complete", views.CardLoginCompleteView.as_view(), name="usc-login-complete"),
]
