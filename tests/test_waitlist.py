"""The waitlist (referrals.waitlist): join with name/school/state/email, verified by an
emailed 6-digit code (HMAC-stored, 10-minute expiry, 5 wrong guesses burn it, 3 sends an
hour), 3 joins per hour per IP, no account enumeration; the admin list, CSV export and
the invite action (single-use admin codes by email, audited)."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.ratelimit import redis_client
from moderation.models import AuditLog
from referrals import waitlist
from referrals.models import InviteCode, WaitlistEntry
from tests.api_support import api
from tests.concurrency import run_in_parallel
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOIN = "/api/waitlist"
VERIFY = "/api/waitlist/verify"


def form(email="carol@example.edu", **extra):
    return {"name": "Carol", "school": "USC", "state": "CA", "email": email, **extra}


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST from a given address, running the after-commit emails."""

    def call(path, body, ip="10.1.0.1"):
        with django_capture_on_commit_callbacks(execute=True):
            return api().post(path, body, format="json", REMOTE_ADDR=ip)

    return call


def code_in(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_join_emails_a_code_and_the_entry_counts_once_verified(post):
    response = post(JOIN, form())
    assert response.status_code == 202, response.content
    entry = WaitlistEntry.objects.get()
    assert entry.verified_at is None and entry.school == "USC"
    (message,) = mail.outbox
    code = code_in(message)
    assert code not in entry.code_digest  # stored as an HMAC only
    assert post(VERIFY, {"email": "Carol@Example.edu", "code": code}).status_code == 200
    entry.refresh_from_db()
    assert entry.verified_at is not None
    assert post(VERIFY, {"email": "carol@example.edu", "code": code}).status_code == 400  # used up


def test_the_answer_is_the_same_for_an_account_a_listed_and_a_new_address(post):
    UserFactory(email="member@example.edu", permanent=True)
    WaitlistEntry.objects.create(
        email="listed@example.edu", name="L", school="S", state="CA", verified_at=timezone.now()
    )
    answers = [
        post(JOIN, form(email), ip=f"10.2.0.{i}")
        for i, email in enumerate(("member@example.edu", "listed@example.edu", "new@example.edu"))
    ]
    assert {(r.status_code, r.content) for r in answers} == {(answers[0].status_code, answers[0].content)}
    assert answers[0].status_code == 202
    assert sorted(m.to[0] for m in mail.outbox) == ["listed@example.edu", "member@example.edu", "new@example.edu"]
    assert not WaitlistEntry.objects.filter(email="member@example.edu").exists()
    assert "log in" in next(m for m in mail.outbox if m.to == ["member@example.edu"]).body


def test_verify_refuses_an_unknown_address_exactly_like_a_wrong_code(post):
    post(JOIN, form())
    code = code_in(mail.outbox[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    unknown = post(VERIFY, {"email": "nobody@example.edu", "code": code})
    bad = post(VERIFY, {"email": "carol@example.edu", "code": wrong})
    assert unknown.status_code == bad.status_code == 400
    assert unknown.json() == bad.json()
    assert bad.json()["error"]["code"] == "invalid_code"


def test_five_wrong_guesses_burn_the_code(post):
    post(JOIN, form())
    code = code_in(mail.outbox[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for i in range(5):
        assert post(VERIFY, {"email": "carol@example.edu", "code": wrong}, ip=f"10.3.0.{i}").status_code == 400
    assert post(VERIFY, {"email": "carol@example.edu", "code": code}, ip="10.3.1.1").status_code == 400
    assert WaitlistEntry.objects.get().verified_at is None


def test_a_code_expires_after_10_minutes(post, time_machine):
    post(JOIN, form())
    code = code_in(mail.outbox[0])
    time_machine.move_to(timezone.now() + timedelta(minutes=10, seconds=1))
    assert post(VERIFY, {"email": "carol@example.edu", "code": code}).status_code == 400


def test_joins_are_limited_to_3_per_hour_per_ip(post):
    for i in range(3):
        assert post(JOIN, form(f"p{i}@example.edu")).status_code == 202
    limited = post(JOIN, form("p9@example.edu"))
    assert limited.status_code == 429 and int(limited["Retry-After"]) <= 3600
    assert post(JOIN, form("p9@example.edu"), ip="10.9.9.9").status_code == 202


def test_at_most_3_codes_an_hour_go_to_one_address(post):
    for i in range(5):
        assert post(JOIN, form(), ip=f"10.4.0.{i}").status_code == 202
    assert len(mail.outbox) == 3
    assert WaitlistEntry.objects.get().code_sends == 3


@pytest.mark.parametrize("kind", ["account", "listed"])
def test_at_most_3_notes_an_hour_go_to_an_address_with_an_account_or_already_listed_from_any_ip(post, kind):
    if kind == "account":
        UserFactory(email="member@example.edu", permanent=True)
    else:
        WaitlistEntry.objects.create(
            email="member@example.edu", name="M", school="S", state="CA", verified_at=timezone.now()
        )
    answers = {post(JOIN, form("member@example.edu"), ip=f"10.5.0.{i}").content for i in range(6)}

    assert len(answers) == 1  # the same answer every time, capped or not
    assert len(mail.outbox) == 3 and {m.to[0] for m in mail.outbox} == {"member@example.edu"}
    # The window is Redis's (an hour from the first note), shared by every process.
    ttl = redis_client().ttl(waitlist.NOTES_TO_ADDRESS.key(hashlib.sha256(b"member@example.edu").hexdigest()[:32]))
    assert 0 < ttl <= 3600


def test_parallel_joins_of_one_address_make_one_entry(transactional_db):
    from referrals.waitlist import join

    results = run_in_parallel(6, lambda i: join(name="C", school="USC", state="CA", email="race@example.edu"))
    assert all(isinstance(r, str) for r in results), results
    entry = WaitlistEntry.objects.get()
    assert entry.code_sends == 3


def test_the_database_keeps_emails_lower_case_and_invites_for_verified_entries_only():
    for bad in (
        {"email": "Upper@Example.edu"},
        {"email": "x@example.edu", "invited_at": timezone.now()},
        {"email": "y@example.edu", "school": ""},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            WaitlistEntry.objects.create(**{"name": "N", "school": "S", "state": "CA", **bad})


# --- admin -----------------------------------------------------------------------------------


@pytest.fixture
def mod_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


def entry(email, **extra):
    return WaitlistEntry.objects.create(email=email, name="N", school="USC", state="CA", **extra)


def test_staff_send_verified_people_an_invite_code_by_email_audited(
    mod_client, moderator, django_capture_on_commit_callbacks
):
    verified = entry("v@example.edu", verified_at=timezone.now())
    unverified = entry("u@example.edu")
    changelist = reverse("admin:referrals_waitlistentry_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post(
            changelist,
            {"action": "send_invite_codes", "_selected_action": [str(verified.pk), str(unverified.pk)]},
        )
    assert response.status_code == 302
    verified.refresh_from_db()
    code = verified.invite_code
    assert (code.type, code.max_uses, code.uses_remaining) == (InviteCode.Type.ADMIN, 1, 1)
    assert verified.invited_at is not None
    assert WaitlistEntry.objects.get(pk=unverified.pk).invite_code is None
    (message,) = mail.outbox
    assert message.to == ["v@example.edu"] and code.code in message.body
    line = AuditLog.objects.get(event_type="waitlist.invited")
    assert (line.actor, line.details["invite_code"]) == (moderator, code.code)
    # Sending again does nothing to someone already invited.
    mod_client.post(changelist, {"action": "send_invite_codes", "_selected_action": [str(verified.pk)]})
    assert AuditLog.objects.filter(event_type="waitlist.invited").count() == 1


def test_the_admin_exports_the_selection_as_csv(mod_client):
    a = entry("a@example.edu", verified_at=timezone.now())
    b = WaitlistEntry.objects.create(email="b@example.edu", name="=HYPERLINK(1)", school="UCLA", state="CA")
    response = mod_client.post(
        reverse("admin:referrals_waitlistentry_changelist"),
        {"action": "export_csv", "_selected_action": [str(a.pk), str(b.pk)]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("email,name,school,state")
    assert len(lines) == 3
    assert "'=HYPERLINK(1)" in lines[2]  # no formula runs in a spreadsheet


def test_the_admin_list_filters_by_verified_and_school(mod_client):
    entry("a@example.edu", verified_at=timezone.now())
    entry("b@example.edu")
    url = reverse("admin:referrals_waitlistentry_changelist")
    verified = mod_client.get(url, {"verified_at__isempty": "0"})
    assert verified.status_code == 200
    assert [e.email for e in verified.context["cl"].result_list] == ["a@example.edu"]
    assert mod_client.get(url, {"school": "USC"}).status_code == 200


def test_unverified_entries_are_deleted_by_retention(settings):
    from operations import retention

    settings.RETENTION_WAITLIST_UNVERIFIED_DAYS = 7
    old = entry("old@example.edu")
    WaitlistEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    kept_verified = entry("kept@example.edu", verified_at=timezone.now())
    WaitlistEntry.objects.filter(pk=kept_verified.pk).update(created_at=timezone.now() - timedelta(days=30))
    entry("new@example.edu")
    assert retention.apply_retention()["waitlist_unverified_deleted"] == 1
    assert sorted(WaitlistEntry.objects.values_list("email", flat=True)) == ["kept@example.edu", "new@example.edu"]
