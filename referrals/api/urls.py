from django.urls import path

from referrals.api import views

urlpatterns = [
    path("invite-codes/validate", views.ValidateInviteCodeView.as_view(), name="invite-code-validate"),
    path("referrals", views.ReferralCreateView.as_view(), name="referral-create"),
    path("referrals/notifications", views.NotificationListView.as_view(), name="referral-notifications"),
    path("referrals/notifications/read", views.NotificationReadView.as_view(), name="referral-notifications-read"),
]
