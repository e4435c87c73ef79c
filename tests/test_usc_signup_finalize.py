"""USC sign-up and finalize-registration: a scan token signs up a guest with access
qr_verified, the card pending; POST /api/usc/finalize-registration (the signed-in user is
the owner, never a body field) writes the registration in one locked transaction,
idempotently, 409 when the card is someone else's; both branches of the permanent step
(make-permanent, skip-permanent) and a beat sweep finalize on the server."""

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.core.management import call_command

from accounts.models import User
from accounts.services.sessions import start_session
from moderation.models import AuditLog, SiteSettings
from referrals.models import InviteCodeUse
from tests.api_support import PASSWORD, api
from tests.concurrency import run_in_parallel
from tests.factories import InviteCodeFactory, UserFactory
from tests.usc_support import CARD, CARD_BARCODE, IP, OTHER_CARD, error_code, finalize, scan, scan_token, usc_signup
from usc_cards.barcode import card_hash
from usc_cards.models import USCCardRegistration, USCScanAttempt
from usc_cards.selectors import list_unfinalized_scans
from usc_cards.services import finalize_unfinalized_scans as sweep
from usc_cards.tasks import finalize_unfinalized_scans
from usc_cards.tokens import SCAN_TOKEN_SALT

pytestmark = pytest.mark.django_db

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


def signup_with_card(barcode: str = CARD) -> tuple[User, str]:
    response = usc_signup(scan_token(barcode))
    assert response.status_code == 201, response.content
    return User.objects.get(pk=response.json()["user"]["id"]), response.json()["token"]


def start(user) -> str:
    return start_session(user, ip="127.0.0.1")


def give_usc_email(user: User, email: str = "trojan@usc.edu") -> None:
    User.objects.filter(pk=user.pk).update(email=email, email_verified=True)


# --- sign-up ----------------------------------------------------------------------------------


def test_usc_signup_gives_a_qr_verified_guest_holding_the_card_pending():
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": False})

    user, token = signup_with_card(CARD_BARCODE)

    assert user.account_type == "guest"
    assert user.access_status == "qr_verified"
    assert user.usc_id_hash == card_hash(CARD)
    assert user.usc_verified_at is not None
    assert not USCCardRegistration.objects.exists()  # written by finalize-registration
    assert USCScanAttempt.objects.get().resulted_in_signup is True
    assert api(token).get("/api/usc/card").json() == {"status": "pending", "registration": None}


def test_usc_signup_with_a_poster_code_spends_the_code_too():
    code = InviteCodeFactory()

    response = usc_signup(scan_token(), invite_code=code.code)

    assert response.status_code == 201
    assert response.json()["user"]["access_status"] == "qr_verified"
    assert InviteCodeUse.objects.filter(code=code, user_id=response.json()["user"]["id"]).exists()


def test_a_replayed_scan_token_cannot_sign_up_a_second_account():
    token = scan_token()
    assert usc_signup(token).status_code == 201

    response = usc_signup(token)

    assert response.status_code == 409
    assert error_code(response) == "scan_token_used"
    assert User.objects.filter(usc_id_hash__isnull=False).count() == 1


def test_a_fresh_scan_of_a_card_that_signed_up_is_refused_at_verify_card():
    signup_with_card()

    assert error_code(scan(CARD)) == "card_registered"


def test_a_forged_scan_token_is_refused():
    token = scan_token()
    claim = {"v": 1, "h": card_hash(CARD), "l": "1828", "f": "digits10", "a": USCScanAttempt.objects.get().pk}
    forged_payloads = [
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # altered signature
        signing.dumps(claim, salt="another salt"),
        signing.dumps(claim, key="not our key", salt=SCAN_TOKEN_SALT),
        "not a token at all",
        "x" * 600,
    ]
    for forged in forged_payloads:
        response = usc_signup(forged)
        assert response.status_code == 400, forged
        assert error_code(response) in ("invalid_scan_token", "invalid"), forged
    assert not User.objects.filter(usc_id_hash__isnull=False).exists()


def test_a_signed_token_naming_another_scan_is_refused():
    scan_token(OTHER_CARD)
    other_attempt = USCScanAttempt.objects.get()
    token = signing.dumps(
        {"v": 1, "h": card_hash(CARD), "l": "1828", "f": "digits10", "a": other_attempt.pk}, salt=SCAN_TOKEN_SALT
    )

    response = usc_signup(token)

    assert error_code(response) == "invalid_scan_token"


def test_an_expired_scan_token_is_refused():
    with time_machine.travel(T0, tick=False):
        token = scan_token()
    with time_machine.travel(T0 + timedelta(minutes=30, seconds=2), tick=False):
        response = usc_signup(token)

    assert response.status_code == 400
    assert error_code(response) == "scan_token_expired"
    assert not User.objects.filter(usc_id_hash__isnull=False).exists()


def test_a_scan_token_29_minutes_old_still_signs_up():
    with time_machine.travel(T0, tick=False):
        token = scan_token()
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert usc_signup(token).status_code == 201


# --- finalize-registration --------------------------------------------------------------------


def test_finalize_writes_the_registration_from_the_scan():
    user, token = signup_with_card(CARD_BARCODE)

    response = finalize(token)

    assert response.status_code == 200
    registration = USCCardRegistration.objects.get()
    assert registration.user_id == user.pk
    assert registration.usc_id_hash == card_hash(CARD)
    assert (registration.last4, registration.barcode_format) == ("1828", "digits14")
    assert registration.first_scanned_ip == IP
    assert registration.total_card_logins == 0
    assert response.json()["last4"] == "1828"
    audit = AuditLog.objects.get(event_type="usc_card.registered")
    assert audit.target_id == user.pk and audit.details == {"last4": "1828", "via": "finalize"}
    assert api(token).get("/api/usc/card").json()["status"] == "registered"


def test_finalize_twice_is_idempotent():
    _, token = signup_with_card()
    first = finalize(token)

    second = finalize(token)

    assert second.status_code == 200
    assert second.json() == first.json()
    assert USCCardRegistration.objects.count() == 1
    assert AuditLog.objects.filter(event_type="usc_card.registered").count() == 1


def test_finalize_with_nothing_pending_gets_409_no_pending_scan(alice):
    response = finalize(start(alice))

    assert response.status_code == 409
    assert error_code(response) == "no_pending_scan"


def test_finalize_needs_a_signed_in_user():
    response = api().post("/api/usc/finalize-registration", {"scan_token": scan_token()}, format="json")

    assert response.status_code == 401
    assert not USCCardRegistration.objects.exists()


def test_finalize_binds_the_signed_in_user_never_one_named_in_the_body(alice, bob):
    token = scan_token()

    response = api(start(alice)).post(
        "/api/usc/finalize-registration",
        {"scan_token": token, "user": str(bob.pk), "user_id": str(bob.pk)},
        format="json",
    )

    assert response.status_code == 200
    assert USCCardRegistration.objects.get().user_id == alice.pk


def test_an_existing_account_finalizes_with_a_scan_token_and_gets_qr_verified(alice):
    response = finalize(start(alice), scan_token())

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.usc_id_hash == card_hash(CARD)
    assert alice.access_status == "qr_verified"
    assert USCScanAttempt.objects.get().resulted_in_signup is True


def test_finalize_with_a_card_bound_to_someone_else_gets_409(alice, bob):
    token = scan_token()
    assert finalize(start(alice), token).status_code == 200

    response = finalize(start(bob), token)

    assert response.status_code == 409
    assert error_code(response) == "card_taken"
    bob.refresh_from_db()
    assert bob.usc_id_hash is None
    assert USCCardRegistration.objects.get().user_id == alice.pk


def test_finalize_with_a_token_of_a_card_pending_for_another_signup_gets_409(alice):
    token = scan_token()
    assert usc_signup(token).status_code == 201

    response = finalize(start(alice), token)

    assert error_code(response) == "card_taken"
    assert not USCCardRegistration.objects.exists()


def test_finalize_with_a_second_card_gets_409_other_card_registered():
    _, session = signup_with_card(CARD)
    finalize(session)

    response = finalize(session, scan_token(OTHER_CARD))

    assert response.status_code == 409
    assert error_code(response) == "other_card_registered"
    assert USCCardRegistration.objects.count() == 1


def test_finalize_with_an_expired_or_forged_token_is_refused(alice):
    with time_machine.travel(T0, tick=False):
        token = scan_token()
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert error_code(finalize(start(alice), token)) == "scan_token_expired"
    assert error_code(finalize(start(alice), token[:-1] + "x")) == "invalid_scan_token"
    assert not USCCardRegistration.objects.exists()


# --- the permanent step: both branches finalize -----------------------------------------------


def test_make_permanent_finalizes_a_pending_registration():
    user, token = signup_with_card()
    give_usc_email(user)

    response = api(token).post("/api/me/make-permanent", {"password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["account_type"] == "permanent"
    registration = USCCardRegistration.objects.get()
    assert registration.user_id == user.pk
    assert AuditLog.objects.get(event_type="usc_card.registered").details["via"] == "make_permanent"


def test_a_refused_make_permanent_still_leaves_the_registration():
    user, token = signup_with_card()  # no verified email yet

    response = api(token).post("/api/me/make-permanent", {"password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "email_not_verified"
    assert USCCardRegistration.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert user.account_type == "guest"


def test_skip_permanent_finalizes_a_pending_registration():
    user, token = signup_with_card()

    response = api(token).post("/api/me/skip-permanent", format="json")

    assert response.status_code == 200
    assert response.json()["account_type"] == "guest"
    assert USCCardRegistration.objects.get().user_id == user.pk
    assert AuditLog.objects.get(event_type="usc_card.registered").details["via"] == "skip_permanent"


def test_skip_permanent_without_a_card_changes_nothing(alice):
    response = api(start(alice)).post("/api/me/skip-permanent", format="json")

    assert response.status_code == 200
    assert not USCCardRegistration.objects.exists()


def test_a_usc_card_account_needs_an_usc_edu_email_to_become_permanent(alice):
    finalize(start(alice), scan_token())
    give_usc_email(alice, "alice@example.com")  # verified before the card was attached

    response = api(start(alice)).post("/api/me/make-permanent", {"password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "usc_email_required"
    alice.refresh_from_db()
    assert alice.account_type == "guest"


# --- the sweep ----------------------------------------------------------------------------------


def test_the_sweep_lists_and_finalizes_sign_ups_left_pending_for_30_minutes():
    with time_machine.travel(T0, tick=False):
        old, _ = signup_with_card(CARD)
    with time_machine.travel(T0 + timedelta(minutes=25), tick=False):
        recent, _ = signup_with_card(OTHER_CARD)
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert list(list_unfinalized_scans(older_than=timedelta(minutes=30))) == [old]

        result = finalize_unfinalized_scans()

        assert list(list_unfinalized_scans()) == [recent]
    assert result == {"pending": 1, "finalized": 1, "failed": 0}
    assert list(USCCardRegistration.objects.values_list("user_id", flat=True)) == [old.pk]
    audit = AuditLog.objects.get(event_type="usc_card.registered")
    assert (audit.details["via"], audit.actor_id, audit.target_id) == ("sweep", None, old.pk)


def test_the_sweep_is_harmless_twice():
    with time_machine.travel(T0, tick=False):
        signup_with_card()
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        finalize_unfinalized_scans()
        assert finalize_unfinalized_scans() == {"pending": 0, "finalized": 0, "failed": 0}
    assert USCCardRegistration.objects.count() == 1


# --- races --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_users_racing_for_one_card_have_exactly_one_winner():
    token = scan_token()
    users = [UserFactory(), UserFactory()]
    sessions = [start(user) for user in users]

    results = run_in_parallel(2, lambda i: finalize(sessions[i], token))

    statuses = sorted(response.status_code for response in results)
    assert statuses == [200, 409]
    loser = next(response for response in results if response.status_code == 409)
    assert error_code(loser) == "card_taken"
    registration = USCCardRegistration.objects.get()
    assert User.objects.filter(usc_id_hash=card_hash(CARD)).get().pk == registration.user_id


@pytest.mark.django_db(transaction=True)
def test_one_user_finalizing_twice_at_once_gets_one_registration():
    _, session = signup_with_card()

    results = run_in_parallel(2, lambda i: finalize(session))

    assert [response.status_code for response in results] == [200, 200]
    assert USCCardRegistration.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_with_one_scan_token_at_once_make_one_account():
    token = scan_token()

    results = run_in_parallel(2, lambda i: usc_signup(token))

    assert sorted(response.status_code for response in results) == [201, 409]
    assert User.objects.filter(usc_id_hash__isnull=False).count() == 1


def test_card_ids_are_hashed_with_the_configured_secret_not_plain_sha256():
    user, _ = signup_with_card()

    assert user.usc_id_hash != hashlib.sha256(CARD.encode()).hexdigest()


def test_the_usc_unfinalized_command_lists_then_finalizes_pending_sign_ups():
    user, _ = signup_with_card()
    out = io.StringIO()

    call_command("usc_unfinalized", stdout=out)

    assert f"pending user={user.pk}" in out.getvalue()
    assert out.getvalue().strip().endswith("usc_unfinalized: 1 pending")
    assert not USCCardRegistration.objects.exists()
    out = io.StringIO()
    call_command("usc_unfinalized", "--finalize", stdout=out)
    assert "1 finalized, 0 refused" in out.getvalue()
    assert USCCardRegistration.objects.get().user_id == user.pk


# --- who may call -------------------------------------------------------------------------------


def test_a_stranger_gets_401_from_the_card_status_and_skip_permanent():
    assert api().get("/api/usc/card").status_code == 401
    assert api().post("/api/me/skip-permanent").status_code == 401


def test_a_banned_user_cannot_finalize_but_the_sweep_still_writes_the_registration():
    user, token = signup_with_card()
    User.objects.filter(pk=user.pk).update(ban_status="temporary")

    response = finalize(token)

    assert response.status_code == 403
    assert error_code(response) == "banned"
    assert sweep(older_than=timedelta(0))["finalized"] == 1
    assert USCCardRegistration.objects.filter(user=user).exists()


def test_verify_card_without_a_barcode_is_400_invalid():
    response = api().post("/api/usc/verify-card", {}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert "barcode" in response.json()["error"]["fields"]


def test_beat_runs_the_finalize_sweep(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["finalize-usc-registrations"]
    app.loader.import_default_modules()

    assert entry["task"] == "usc_cards.tasks.finalize_unfinalized_scans"
    assert entry["task"] in app.tasks
    assert 0 < entry["schedule"] <= settings.USC_FINALIZE_AFTER_MINUTES * 60
