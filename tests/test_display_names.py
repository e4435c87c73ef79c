"""Display names (issue 23): NFKC-normalised, at least one visible letter, at most 3 combining
marks in a row, and no staff word or look-alike of one (Unicode confusables data through the
confusable_homoglyphs library), by one validator wherever a name is set: sign-up, settings
(PATCH /api/me) and the admin's user forms."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.services import admin_edits
from accounts.validation import clean_name
from config.errors import InvalidInput
from tests.api_support import signed_in
from tests.factories import InviteCodeFactory, UserFactory
from tests.test_admin_pages import user_change_data
from tests.test_signup import signup

pytestmark = pytest.mark.django_db

INVISIBLE = ["\u3164", "\u2800", "\u3164 \u3164", "\uffa0", "\u115f\u1160", "..."]
ZALGO = ["A" + "\u0301" * 59, "Bo" + "\u0300\u0301\u0302\u0303\u0304"]
IMPERSONATING = [
    "\U0001d400dmin",  # mathematical bold A: NFKC makes it "Admin"
    "Admin",
    "\u0430dmin",  # Cyrillic a
    "\ua4eedmin",  # Lisu A
    "ADMlN",  # l for I
    "Moder\u0430tor",
    "\uff2d\uff4f\uff44\uff45\uff52\uff41\uff54\uff4f\uff52",  # fullwidth "Moderator"
    "Rendezvous Support",
    "\u0455taff",  # Cyrillic dze for s
    "s u p p o r t",
]
FINE = [
    "Alice",
    "Jos\u00e9",
    "Nguy\u1ec5n Th\u1ecb \u00c1nh",
    "\u092a\u094d\u0930\u093f\u092f\u0902\u0915\u093e",
    "Алиса",
    "李小龍",
    "Badminton Bob",
]


@pytest.mark.parametrize("name", INVISIBLE + ZALGO + IMPERSONATING)
def test_sign_up_refuses_invisible_zalgo_and_staff_look_alike_names_with_a_field_message(name):
    response = signup(invite_code=InviteCodeFactory().code, name=name)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "name_not_allowed"
    assert response.json()["error"]["fields"]["name"]
    assert not User.objects.filter(name__icontains="dmin").exists()


@pytest.mark.parametrize("name", INVISIBLE + ZALGO + IMPERSONATING)
def test_settings_refuse_the_same_names(alice, name):
    response = signed_in(alice).patch("/api/me", {"name": name}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "name_not_allowed"
    assert response.json()["error"]["fields"]["name"]
    alice.refresh_from_db()
    assert alice.name == "Alice"


@pytest.mark.parametrize("name", FINE)
def test_real_names_in_any_script_are_accepted(alice, name):
    response = signed_in(alice).patch("/api/me", {"name": name}, format="json")
    assert response.status_code == 200, response.content


def test_names_are_stored_nfkc_normalised(alice):
    response = signed_in(alice).patch("/api/me", {"name": "\uff21\uff4c\uff49\uff43\uff45 \ufb01"}, format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.name == "Alice fi"


def test_each_refusal_says_why():
    messages = {}
    for name in ("\u3164", "A" + "\u0301" * 59, "\U0001d400dmin"):
        with pytest.raises(InvalidInput) as refused:
            clean_name(name)
        messages[name] = refused.value.fields["name"][0]
    assert list(messages.values()) == [
        "A name needs at least one visible letter.",
        "At most 3 accents or marks on one letter.",
        "That name is kept for Rendezvous staff; choose another.",
    ]


def test_the_admin_user_form_applies_the_same_rule(moderator):
    member = UserFactory(name="Plain")
    client = Client()
    client.force_login(moderator)
    page = client.post(
        reverse("admin:accounts_user_change", args=[member.pk]), user_change_data(member, name="\u0430dmin")
    )

    assert page.status_code == 200  # the form again, with the error
    assert "kept for Rendezvous staff" in page.content.decode()
    member.refresh_from_db()
    assert member.name == "Plain"


def test_the_admin_service_applies_it_too_and_staff_may_go_by_a_staff_word(moderator):
    boss = User.objects.create_superuser(email="boss@usc.edu", password="x" * 12, name="Boss")
    member = UserFactory(name="Plain")
    with pytest.raises(InvalidInput):
        admin_edits.change_user(member.pk, {"name": "\u3164"}, actor=boss)
    with pytest.raises(InvalidInput):
        admin_edits.change_user(member.pk, {"name": "Support"}, actor=boss)
    assert admin_edits.change_user(moderator.pk, {"name": "Support"}, actor=boss).name == "Support"
