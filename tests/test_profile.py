"""GET/PATCH /api/me: the profile and its field rules."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User, UserLocation
from accounts.selectors import hash_token
from accounts.services.sessions import start_session
from accounts.validation import SOCIAL_HANDLES
from tests.api_support import api, signed_in
from tests.factories import UserBanFactory, UserLocationFactory, sha256_hex


def client_for(user, *, token: str | None = None) -> APIClient:
    return api(token) if token else signed_in(user)


def patch_me(user, body: dict):
    return client_for(user).patch("/api/me", body, format="json")


def assert_field_error(response, field: str):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    return error["fields"][field]


def post_url(n: int, kind: str = "p") -> str:
    return f"https://www.instagram.com/{kind}/Post{n:04d}x/"


# --- Reading ----------------------------------------------------------------------------------


def test_get_me_returns_my_profile(alice):
    response = client_for(alice).get("/api/me")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(alice.pk)
    assert body["name"] == "Alice"
    assert body["gender"] == "unspecified"
    assert body["account_type"] == "guest"
    assert body["socials"] == {}
    assert body["instagram_posts"] == []
    assert body["selfie_url"] is None
    assert body["video_url"] is None
    assert body["ban_status"] == "none"


def test_get_me_never_shows_password_hash_usc_id_hash_or_token_digest(alice):
    alice.set_password("a long enough passphrase 42")
    alice.usc_id_hash = sha256_hex("1234567890")
    alice.save()
    token = start_session(alice, ip="127.0.0.1")

    response = client_for(alice, token=token).get("/api/me")

    assert response.status_code == 200
    body = response.json()
    assert body["has_password"] is True
    assert not {"password", "usc_id_hash", "token", "token_digest"} & set(body)
    text = response.content.decode()
    assert alice.password not in text
    assert alice.password.split("$")[-1] not in text  # not even the hash part
    assert alice.usc_id_hash not in text
    assert hash_token(token) not in text
    assert token not in text


def test_get_me_shows_the_callers_own_profile_only(alice, stranger):
    response = client_for(stranger).get("/api/me")

    assert response.status_code == 200
    assert response.json()["id"] == str(stranger.pk)
    assert response.json()["name"] == "Stranger"


# --- Who may call -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_me_without_a_session_is_401(db, method):
    response = getattr(APIClient(), method)("/api/me", {"name": "x"} if method == "patch" else None, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_with_an_unknown_token_is_401_invalid_token(alice):
    start_session(alice, ip="127.0.0.1")

    response = client_for(alice, token="not-a-real-token").get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("ban_status", [User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_banned_user_gets_403_banned_and_nothing_changes(alice, method, ban_status):
    alice.ban_status = ban_status
    alice.save(update_fields=["ban_status"])
    UserBanFactory(user=alice, status=ban_status)

    response = getattr(client_for(alice), method)("/api/me", {"name": "Renamed"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "banned"
    assert response.json()["error"]["ban_status"] == ban_status
    alice.refresh_from_db()  # still there, not renamed
    assert alice.name == "Alice"


def test_vindicated_user_is_not_banned(alice):
    alice.ban_status = User.BanStatus.VINDICATED
    alice.save(update_fields=["ban_status"])

    assert client_for(alice).get("/api/me").status_code == 200


def test_patch_changes_only_the_callers_profile(alice, stranger):
    response = patch_me(stranger, {"name": "Mallory"})

    assert response.status_code == 200
    alice.refresh_from_db()
    stranger.refresh_from_db()
    assert alice.name == "Alice"
    assert stranger.name == "Mallory"


def test_patch_ignores_fields_that_are_not_editable(alice):
    response = patch_me(
        alice,
        {
            "name": "Alice B",
            "access_status": "paid",
            "is_staff": True,
            "is_superuser": True,
            "timer_total_seconds": 99999,
            "email": "alice@usc.edu",
            "email_verified": True,
            "account_type": "permanent",
        },
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.name == "Alice B"
    assert alice.access_status == User.AccessStatus.QR_GRACE_PERIOD
    assert (alice.is_staff, alice.is_superuser, alice.timer_total_seconds) == (False, False, 0)
    assert (alice.email, alice.email_verified, alice.account_type) == (None, False, "guest")


# --- Name -------------------------------------------------------------------------------------


def test_patch_name_is_trimmed(alice):
    response = patch_me(alice, {"name": "   Alice Liddell \t "})

    assert response.status_code == 200
    assert response.json()["name"] == "Alice Liddell"
    alice.refresh_from_db()
    assert alice.name == "Alice Liddell"


@pytest.mark.parametrize("name", ["A", "é" * 60, " " + "x" * 60 + " "])
def test_patch_name_of_1_to_60_characters_is_accepted(alice, name):
    response = patch_me(alice, {"name": name})

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.name == name.strip()


@pytest.mark.parametrize(
    "name", ["", "   ", "\t\n", "x" * 61, " " + "x" * 61 + " ", "x" * 201, "\u200b\u200b", "\x00", None]
)
def test_patch_name_outside_1_to_60_characters_is_400(alice, name):
    response = patch_me(alice, {"name": name})

    assert_field_error(response, "name")
    alice.refresh_from_db()
    assert alice.name == "Alice"


def test_patch_name_never_stores_control_or_invisible_characters(alice):
    response = patch_me(alice, {"name": "Al\x00ice\u200b \u202eLiddell"})

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.name == "Alice Liddell"


# --- Gender -----------------------------------------------------------------------------------


@pytest.mark.parametrize("gender", ["female", "male", "nonbinary", "unspecified"])
def test_patch_gender_accepts_each_choice(alice, gender):
    response = patch_me(alice, {"gender": gender})

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.gender == gender


@pytest.mark.parametrize("gender", ["robot", "", "Female", None])
def test_patch_gender_outside_the_choices_is_400(alice, gender):
    response = patch_me(alice, {"gender": gender})

    assert_field_error(response, "gender")
    alice.refresh_from_db()
    assert alice.gender == "unspecified"


# --- Socials ----------------------------------------------------------------------------------


def test_patch_socials_strips_a_leading_at_and_stores_the_handles(alice):
    response = patch_me(alice, {"socials": {"instagram": "@alice.ig", "x": "alice_x", "tiktok": " @alice.tt "}})

    assert response.status_code == 200, response.content
    expected = {"instagram": "alice.ig", "x": "alice_x", "tiktok": "alice.tt"}
    assert response.json()["socials"] == expected
    alice.refresh_from_db()
    assert alice.socials == expected


def test_patch_socials_accepts_every_fixed_network(alice):
    handles = {
        "instagram": "alice.ig",
        "snapchat": "alice-snap",
        "tiktok": "alice_tt",
        "x": "alice_x",
        "linkedin": "alice-liddell",
        "discord": "alice.d",
    }
    assert set(handles) == set(SOCIAL_HANDLES)

    response = patch_me(alice, {"socials": handles})

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.socials == handles


def test_patch_socials_with_an_empty_handle_removes_that_network(alice):
    alice.socials = {"instagram": "alice.ig", "x": "alice_x"}
    alice.save(update_fields=["socials"])

    response = patch_me(alice, {"socials": {"instagram": "alice.ig", "x": ""}})

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.socials == {"instagram": "alice.ig"}


@pytest.mark.parametrize("network", ["myspace", "facebook", "Instagram", "__proto__"])
def test_patch_socials_for_an_unknown_network_is_400(alice, network):
    response = patch_me(alice, {"socials": {"instagram": "alice.ig", network: "alice"}})

    errors = assert_field_error(response, "socials")
    assert network in errors
    alice.refresh_from_db()
    assert alice.socials == {}


@pytest.mark.parametrize(
    ("network", "handle"),
    [
        ("x", "a_handle_far_too_long_for_x"),
        ("x", "alice.x"),
        ("instagram", "alice ig"),
        ("instagram", "<script>"),
        ("snapchat", "1alice"),
        ("discord", "Alice"),
        ("linkedin", "https://linkedin.com/in/alice"),
        ("tiktok", "@"),
        ("instagram", ["alice"]),
    ],
)
def test_patch_socials_with_a_bad_handle_is_400(alice, network, handle):
    response = patch_me(alice, {"socials": {network: handle}})

    errors = assert_field_error(response, "socials")
    assert network in errors
    alice.refresh_from_db()
    assert alice.socials == {}


@pytest.mark.parametrize("socials", [["instagram", "alice"], "alice", 7])
def test_patch_socials_that_is_not_an_object_is_400(alice, socials):
    assert_field_error(patch_me(alice, {"socials": socials}), "socials")


# --- Instagram posts --------------------------------------------------------------------------


def test_patch_instagram_posts_accepts_up_to_10_post_and_reel_urls(alice):
    posts = [post_url(n, kind) for n, kind in zip(range(10), ["p", "reel", "reels", "p", "p"] * 2, strict=True)]
    posts[3] = "https://instagram.com/p/NoWww123"  # without www. and without the trailing slash

    response = patch_me(alice, {"instagram_posts": posts})

    assert response.status_code == 200, response.content
    assert response.json()["instagram_posts"] == posts
    alice.refresh_from_db()
    assert alice.instagram_posts == posts


def test_patch_11_instagram_posts_is_400(alice):
    response = patch_me(alice, {"instagram_posts": [post_url(n) for n in range(11)]})

    assert_field_error(response, "instagram_posts")
    alice.refresh_from_db()
    assert alice.instagram_posts == []


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/p/ABCDEF/",
        "https://www.instagram.com/alice.ig/",
        "https://www.instagram.com/",
        "http://www.instagram.com/p/ABCDEF/",
        "https://instagram.com.evil.example/p/ABCDEF/",
        "https://evilinstagram.com/p/ABCDEF/",
        "https://www.instagram.com/stories/alice/123456/",
        "https://www.instagram.com/p/ABCDEF/?utm_source=x",
        "javascript:alert(1)//instagram.com/p/ABCDEF/",
        "",
        123,
    ],
)
def test_patch_instagram_posts_with_a_url_that_is_not_a_post_or_reel_is_400(alice, url):
    response = patch_me(alice, {"instagram_posts": [post_url(1), url]})

    assert_field_error(response, "instagram_posts")
    alice.refresh_from_db()
    assert alice.instagram_posts == []


def test_patch_instagram_posts_that_is_not_a_list_is_400(alice):
    assert_field_error(patch_me(alice, {"instagram_posts": post_url(1)}), "instagram_posts")


# --- Location consent -------------------------------------------------------------------------


def test_withdrawing_location_consent_deletes_my_stored_location(alice, bob):
    alice.location_consent = True
    alice.save(update_fields=["location_consent"])
    UserLocationFactory(user=alice)
    UserLocationFactory(user=bob)

    response = patch_me(alice, {"location_consent": False})

    assert response.status_code == 200
    assert response.json()["location_consent"] is False
    alice.refresh_from_db()
    assert alice.location_consent is False
    assert not UserLocation.objects.filter(user=alice).exists()
    assert UserLocation.objects.filter(user=bob).exists()


def test_giving_location_consent_keeps_the_stored_location(alice):
    UserLocationFactory(user=alice)

    response = patch_me(alice, {"location_consent": True, "name": "Alice"})

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.location_consent is True
    assert UserLocation.objects.filter(user=alice).exists()


def test_patch_without_location_consent_keeps_the_stored_location(alice):
    UserLocationFactory(user=alice)

    response = patch_me(alice, {"name": "Alice L"})

    assert response.status_code == 200
    assert UserLocation.objects.filter(user=alice).exists()


def test_invalid_patch_changes_nothing_at_all(alice):
    alice.location_consent = True
    alice.save(update_fields=["location_consent"])
    UserLocationFactory(user=alice)

    response = patch_me(alice, {"name": "Alice New", "location_consent": False, "socials": {"myspace": "tom"}})

    assert_field_error(response, "socials")
    alice.refresh_from_db()
    assert (alice.name, alice.location_consent) == ("Alice", True)
    assert UserLocation.objects.filter(user=alice).exists()
