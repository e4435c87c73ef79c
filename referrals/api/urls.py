from django.urls import path

from referrals.api import views, waitlist_views

urlpatterns = [
    path("invite-codes/validate", views.ValidateInviteCodeView.as_view(), name="invite-code-validate"),
    path("me/invite-code", views.MyInviteCodeView.as_view(), name="me-invite-code"),
    path("me/invite-code.png", views.MyInviteCodePngView.as_view(), name="me-invite-code-png"),
    path("waitlist", waitlist_views.WaitlistJoinView.as_view(), name="waitlist-join"),
    path("waitlist/verify", waitlist_views.WaitlistVerifyView.as_view(), name="waitlist-verify"),
    path("referrals", views.ReferralCreateView.as_view(), name="referral-create"),
    path("referrals/notifications", views.NotificationListView.as_view(), name="referral-notifications"),
    path("referrals/notifications/read", views.NotificationReadView.as_view(), name="referral-notifications-read"),
]
