"""Event mode (chat.event_mode): the settings row (constraints, audited saves, the cached
snapshot, event.settings_changed), windows across days and DST, the guard on the reel,
call.invite and call.accept (REST and WebSocket), access passes, a call running past the
window's end, GET /api/events/status, RSVPs (rules, upsert, throttle, retention, chart)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from chat import event_mode, event_rsvps
from chat.event_mode import EventClosed, EventConfig, ensure_event_open, next_window, update_settings
from chat.models import ActiveRoom, EventAccessPass, EventRSVP, EventSettings
from chat.services import accept_invite, end_overdue_rooms, post_message, send_invite
from config.errors import InvalidInput
from moderation.models import AuditLog
from tests.api_support import api, signed_in
from tests.chat_support import go_online
from tests.factories import CallInviteFactory, UserFactory

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"
# Wednesday 2027-03-10, noon in Los Angeles (PST, UTC−8): the 19:00–22:00 window is closed.
NOON_WED = datetime(2027, 3, 10, 20, 0, tzinfo=UTC)
# The same evening at 20:00 PST: open.
EVENING_WED = datetime(2027, 3, 11, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wednesday_noon(time_machine):
    """Every test starts at NOON_WED (before its users and sessions are made, so none has
    expired by then); tests move on from there."""
    time_machine.move_to(NOON_WED, tick=True)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def config(**kwargs) -> EventConfig:
    defaults = {"enabled": True, "window_start": time(19), "window_end": time(22), "time_zone": LA}
    return EventConfig(**{**defaults, **kwargs})


@pytest.fixture
def configure(moderator, django_capture_on_commit_callbacks):
    """Save event settings as staff would (after-commit work run: snapshot stored, pushes sent)."""

    def save(**changes):
        with django_capture_on_commit_callbacks(execute=True):
            return update_settings(moderator=moderator, **changes)

    return save


@pytest.fixture
def event_on(configure):
    return configure(enabled=True, window_start=time(19), window_end=time(22), time_zone=LA, weekdays=[])


# --- windows ---------------------------------------------------------------------------------


def test_next_window_is_tonight_in_the_zone_as_utc_instants():
    window = next_window(config(), NOON_WED)
    assert (window.start, window.end, window.local_date) == (
        utc(2027, 3, 11, 3),
        utc(2027, 3, 11, 6),
        date(2027, 3, 10),
    )


def test_next_window_after_tonights_is_tomorrow():
    window = next_window(config(), utc(2027, 3, 11, 7))  # 23:00 PST on Wednesday
    assert (window.start, window.end) == (utc(2027, 3, 12, 3), utc(2027, 3, 12, 6))


def test_next_window_skips_to_the_next_event_weekday():
    friday_only = config(weekdays=(4,))
    window = next_window(friday_only, utc(2027, 3, 13, 20))  # Saturday noon PST
    # Friday 19 March is after the switch to PDT (UTC−7): 19:00 local is 02:00 UTC.
    assert (window.start, window.end, window.local_date) == (
        utc(2027, 3, 20, 2),
        utc(2027, 3, 20, 5),
        date(2027, 3, 19),
    )


def test_windows_follow_the_spring_forward_change():
    saturday = next_window(config(), utc(2027, 3, 13, 20))
    sunday = next_window(config(), utc(2027, 3, 14, 12))
    assert saturday.start == utc(2027, 3, 14, 3)  # 19:00 PST
    assert sunday.start == utc(2027, 3, 15, 2)  # 19:00 PDT, an hour earlier in UTC
    assert sunday.end - sunday.start == timedelta(hours=3)


def test_windows_follow_the_fall_back_change():
    saturday = next_window(config(), utc(2027, 11, 6, 20))
    sunday = next_window(config(), utc(2027, 11, 7, 20))
    assert saturday.start == utc(2027, 11, 7, 2)  # 19:00 PDT
    assert sunday.start == utc(2027, 11, 8, 3)  # 19:00 PST


def test_a_window_starting_in_the_dst_gap_opens_just_after_it():
    gap = config(window_start=time(2, 30), window_end=time(4))
    window = next_window(gap, utc(2027, 3, 14, 8))  # Sunday 00:00 PST
    assert window.start == utc(2027, 3, 14, 10, 30)  # 02:30 does not exist; 03:30 PDT
    assert window.end == utc(2027, 3, 14, 11)  # 04:00 PDT
    assert window.start < window.end


def test_is_open_inside_the_window_only_and_always_when_off():
    assert not event_mode.is_open(config(), NOON_WED)
    assert event_mode.is_open(config(), EVENING_WED)
    assert event_mode.is_open(config(), utc(2027, 3, 11, 3))  # the start is inside
    assert not event_mode.is_open(config(), utc(2027, 3, 11, 6))  # the end is not
    assert event_mode.is_open(config(enabled=False), NOON_WED)


# --- settings: constraints, validation, audit, snapshot, push -------------------------------


def test_the_database_refuses_a_second_row_a_midnight_crossing_window_and_bad_weekdays():
    EventSettings.objects.create()
    for bad in (
        {"id": 2},
        {"window_start": time(22), "window_end": time(2)},
        {"window_start": time(20), "window_end": time(20)},
        {"weekdays": [7]},
        {"weekdays": [1.5]},
        {"weekdays": ["monday"]},
        {"weekdays": {"0": True}},
        {"time_zone": ""},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            EventSettings.objects.filter(pk=1).update(**bad) if "id" not in bad else EventSettings.objects.create(**bad)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "UTC+2", "../etc/passwd", "/etc/localtime", "America/"])
def test_a_zone_zoneinfo_does_not_know_is_refused(configure, zone):
    with pytest.raises(InvalidInput) as caught:
        configure(time_zone=zone)
    assert "timezone" in caught.value.fields
    assert not EventSettings.objects.exists()


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Pacific/Chatham", "UTC", "Europe/Paris"])
def test_any_iana_zone_is_accepted(configure, zone):
    assert configure(time_zone=zone).time_zone == zone


def test_a_window_crossing_midnight_is_refused_by_the_service(configure):
    with pytest.raises(InvalidInput) as caught:
        configure(window_start=time(22), window_end=time(1))
    assert "window_end" in caught.value.fields


def test_a_change_is_audited_with_what_changed_and_a_no_op_writes_nothing(configure, moderator):
    configure(enabled=True, title="Friday night")
    configure(enabled=True, title="Friday night")
    lines = AuditLog.objects.filter(event_type="event_settings.changed")
    assert lines.count() == 1
    line = lines.get()
    assert line.actor == moderator
    assert line.details["changes"]["enabled"] == {"from": False, "to": True}
    assert line.details["changes"]["title"]["to"] == "Friday night"


def test_the_guard_sees_a_change_at_once_through_the_refreshed_snapshot(configure, alice, time_machine):
    time_machine.move_to(NOON_WED, tick=False)
    ensure_event_open(alice)  # off: open, and the snapshot is now cached
    configure(enabled=True, window_start=time(19), window_end=time(22), time_zone=LA)
    with pytest.raises(EventClosed):
        ensure_event_open(alice)
    configure(enabled=False)
    ensure_event_open(alice)


def test_settings_changed_is_pushed_to_every_online_user(configure, alice, bob, stranger, inbox):
    go_online(alice, bob)
    box = inbox(alice, bob, stranger)
    configure(enabled=True, title="Tonight", banner="Speed dating 7–10 pm")
    events = box.drain()
    for user in (alice, bob):
        (pushed,) = [e for e in events[user.pk] if e["type"] == "event.settings_changed"]
        assert pushed["status"]["enabled"] is True
        assert pushed["status"]["banner"] == "Speed dating 7–10 pm"
        assert "may_enter" not in pushed["status"]
    assert events[stranger.pk] == []  # offline: reads the status when it connects


# --- the guard -------------------------------------------------------------------------------


def test_the_reel_is_closed_outside_the_window_with_the_next_opening(event_on, alice, time_machine):
    time_machine.move_to(NOON_WED, tick=False)
    response = signed_in(alice).get("/api/reel")
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "event_closed"
    assert (error["next_start"], error["next_end"], error["timezone"]) == (
        "2027-03-11T03:00:00Z",
        "2027-03-11T06:00:00Z",
        LA,
    )
    assert "2027-03-10 19:00" in error["message"]


def test_the_reel_opens_inside_the_window_and_when_event_mode_is_off(event_on, configure, alice, time_machine):
    time_machine.move_to(EVENING_WED, tick=False)
    assert signed_in(alice).get("/api/reel").status_code == 200
    time_machine.move_to(NOON_WED, tick=False)
    configure(enabled=False)
    assert signed_in(alice).get("/api/reel").status_code == 200


def test_invite_and_accept_are_refused_outside_the_window(event_on, alice, bob, time_machine):
    time_machine.move_to(NOON_WED, tick=False)
    go_online(alice, bob)
    with pytest.raises(EventClosed) as caught:
        send_invite(alice, to=bob.pk, mode="video", seconds=300)
    assert caught.value.extra["next_start"] == "2027-03-11T03:00:00Z"
    pending = CallInviteFactory(from_user=bob, to_user=alice)  # sent before the window closed
    with pytest.raises(EventClosed):
        accept_invite(alice, invite_id=pending.pk, seconds=300)
    assert not ActiveRoom.objects.exists()


def test_invite_and_accept_work_inside_the_window(event_on, alice, bob, time_machine):
    time_machine.move_to(EVENING_WED, tick=True)
    go_online(alice, bob)
    invite = send_invite(alice, to=bob.pk, mode="video", seconds=300)
    room = accept_invite(bob, invite_id=invite.pk, seconds=300)
    assert room.is_live


def test_a_pass_lets_its_holder_in_outside_the_window(event_on, moderator, alice, bob, time_machine):
    event_mode.grant_pass(alice.pk, moderator=moderator, note="QA")
    event_mode.grant_pass(bob.pk, moderator=moderator)
    time_machine.move_to(NOON_WED, tick=True)
    go_online(alice, bob)
    assert signed_in(alice).get("/api/reel").status_code == 200
    invite = send_invite(alice, to=bob.pk, mode="text", seconds=300)
    assert accept_invite(bob, invite_id=invite.pk, seconds=300).is_live
    granted = AuditLog.objects.filter(event_type="event_access.granted")
    assert {line.target_id for line in granted} == {alice.pk, bob.pk}


def test_a_pass_holder_cannot_invite_someone_without_a_pass_while_closed(event_on, moderator, alice, bob, time_machine):
    from chat.errors import NotAvailable

    event_mode.grant_pass(alice.pk, moderator=moderator)
    time_machine.move_to(NOON_WED, tick=True)
    go_online(alice, bob)
    with pytest.raises(NotAvailable):
        send_invite(alice, to=bob.pk, mode="text", seconds=300)
    assert event_mode._partner_has_pass("not-a-uuid")  # left to the protocol's own refusal
    time_machine.move_to(EVENING_WED, tick=True)
    go_online(alice, bob)
    assert send_invite(alice, to=bob.pk, mode="text", seconds=300).pk


def test_a_revoked_pass_no_longer_lets_in(event_on, moderator, alice, time_machine):
    event_mode.grant_pass(alice.pk, moderator=moderator)
    assert event_mode.revoke_pass(alice.pk, moderator=moderator)
    time_machine.move_to(NOON_WED, tick=False)
    assert signed_in(alice).get("/api/reel").status_code == 403
    assert AuditLog.objects.filter(event_type="event_access.revoked", target=alice).exists()


def test_a_call_running_when_the_window_closes_finishes(event_on, alice, bob, time_machine):
    time_machine.move_to(utc(2027, 3, 11, 5, 59), tick=True)  # 21:59 PST
    go_online(alice, bob)
    invite = send_invite(alice, to=bob.pk, mode="text", seconds=600)
    room = accept_invite(bob, invite_id=invite.pk, seconds=600)
    time_machine.move_to(utc(2027, 3, 11, 6, 0, 30), tick=True)  # the window closed 30 s ago
    post_message(alice, room_id=room.pk, client_id="c1", text="still here")
    end_overdue_rooms()  # the sweep does not end it early either
    room.refresh_from_db()
    assert room.is_live
    assert room.ends_at > utc(2027, 3, 11, 6, 9)  # it runs to its own end (10 minutes)
    with pytest.raises(EventClosed):  # but no new call
        send_invite(alice, to=bob.pk, mode="text", seconds=600)


@pytest.mark.django_db(transaction=True)
async def test_call_invite_over_the_websocket_is_refused_with_the_next_window(ws, time_machine):
    from asgiref.sync import sync_to_async

    from moderation.roles import ensure_moderators_group

    @sync_to_async
    def setup():
        staff = UserFactory(staff=True)
        staff.groups.add(ensure_moderators_group())
        update_settings(moderator=staff, enabled=True, window_start=time(19), window_end=time(22), time_zone=LA)
        return UserFactory(name="A"), UserFactory(name="B")

    time_machine.move_to(NOON_WED, tick=True)
    alice, bob = await setup()
    a = await ws.connect(alice, available=True)
    await ws.connect(bob, available=True)
    reply = await a.refused({"type": "call.invite", "to": str(bob.pk), "mode": "video", "seconds": 300}, "event_closed")
    assert reply["next_start"] == "2027-03-11T03:00:00Z"
    assert reply["next_end"] == "2027-03-11T06:00:00Z"
    assert reply["timezone"] == LA


# --- status ----------------------------------------------------------------------------------


def test_status_is_public_and_says_when_the_next_window_is(event_on, configure, time_machine):
    configure(title="Rendezvous night", banner="Every evening 7–10 pm")
    time_machine.move_to(NOON_WED, tick=False)
    body = api().get("/api/events/status").json()
    assert body["enabled"] is True and body["active"] is False and body["open"] is False
    assert body["may_enter"] is None
    assert body["timezone"] == LA and body["title"] == "Rendezvous night"
    assert body["today"] == {"start": "2027-03-11T03:00:00Z", "end": "2027-03-11T06:00:00Z", "date": "2027-03-10"}
    assert body["next"] == body["today"]
    assert body["current"] is None


def test_status_with_a_token_says_whether_this_user_may_enter(event_on, moderator, alice, bob, time_machine):
    event_mode.grant_pass(bob.pk, moderator=moderator)
    time_machine.move_to(NOON_WED, tick=False)
    assert signed_in(alice).get("/api/events/status").json()["may_enter"] is False
    assert signed_in(bob).get("/api/events/status").json()["may_enter"] is True
    time_machine.move_to(EVENING_WED, tick=False)
    body = signed_in(alice).get("/api/events/status").json()
    assert body["may_enter"] is True and body["active"] is True
    assert body["current"]["end"] == "2027-03-11T06:00:00Z"
    assert body["next"]["start"] == "2027-03-12T03:00:00Z"


def test_status_with_event_mode_off_is_open():
    body = api().get("/api/events/status").json()
    assert (body["enabled"], body["open"], body["active"], body["next"]) == (False, True, False, None)


# --- RSVP ------------------------------------------------------------------------------------

RSVP = "/api/events/rsvp"


def rsvp(client, day, at="19:30"):
    return client.post(RSVP, {"date": str(day), "preferred_time": at}, format="json")


def test_rsvp_is_an_upsert_per_user_and_date(event_on, alice, time_machine):
    time_machine.move_to(NOON_WED, tick=True)
    client = signed_in(alice)
    assert rsvp(client, "2027-03-12", "19:30").status_code == 200
    response = rsvp(client, "2027-03-12", "21:15")
    assert response.status_code == 200, response.content
    assert response.json()["preferred_time"] == "21:15"
    assert rsvp(client, "2027-03-10", "19:00").status_code == 200  # today (local) is fine
    assert EventRSVP.objects.filter(user=alice).count() == 2
    mine = client.get(RSVP).json()
    assert [(r["date"], r["preferred_time"]) for r in mine] == [("2027-03-10", "19:00"), ("2027-03-12", "21:15")]


@pytest.mark.parametrize(
    ("day", "at", "field"),
    [
        ("2027-03-09", "19:30", "date"),  # yesterday in Los Angeles
        ("2027-04-10", "19:30", "date"),  # 31 days ahead
        ("2027-03-12", "18:59", "preferred_time"),
        ("2027-03-12", "22:00", "preferred_time"),  # the end is not inside
        ("not-a-date", "19:30", "date"),
        ("2027-03-12", "25:00", "preferred_time"),
    ],
)
def test_rsvp_rules(event_on, alice, time_machine, day, at, field):
    time_machine.move_to(NOON_WED, tick=True)
    response = rsvp(signed_in(alice), day, at)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not EventRSVP.objects.exists()


def test_rsvp_uses_the_event_zone_for_today(configure, alice, time_machine):
    configure(time_zone="Pacific/Kiritimati", window_start=time(19), window_end=time(22))  # UTC+14
    time_machine.move_to(utc(2027, 3, 10, 12), tick=True)  # already 11 March there
    assert rsvp(signed_in(alice), "2027-03-10").status_code == 400
    assert rsvp(signed_in(alice), "2027-04-10").status_code == 200  # 30 days after 11 March


def test_rsvp_on_a_day_without_an_event_is_refused(configure, alice, time_machine):
    configure(weekdays=[4], window_start=time(19), window_end=time(22), time_zone=LA)
    time_machine.move_to(NOON_WED, tick=True)
    response = rsvp(signed_in(alice), "2027-03-11")  # a Thursday
    assert response.status_code == 400 and "Friday" in response.json()["error"]["fields"]["date"][0]
    assert rsvp(signed_in(alice), "2027-03-12").status_code == 200


def test_rsvp_is_throttled_to_10_per_5_minutes_per_user(event_on, alice, bob, time_machine):
    time_machine.move_to(NOON_WED, tick=True)
    client = signed_in(alice)
    for _ in range(10):
        assert rsvp(client, "2027-03-12").status_code == 200
    limited = rsvp(client, "2027-03-12")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 300
    assert client.get(RSVP).status_code == 200  # reading is not counted
    assert rsvp(signed_in(bob), "2027-03-12").status_code == 200


def test_rsvp_needs_a_session(event_on):
    assert api().post(RSVP, {"date": "2027-03-12", "preferred_time": "19:30"}, format="json").status_code == 401


def test_old_rsvps_are_deleted_by_retention(settings, alice, bob):
    from operations import retention

    settings.RETENTION_EVENT_RSVPS_DAYS = 30
    today = date.today()
    EventRSVP.objects.create(user=alice, date=today - timedelta(days=31), preferred_time=time(19))
    kept = EventRSVP.objects.create(user=bob, date=today - timedelta(days=29), preferred_time=time(19))
    assert retention.apply_retention()["event_rsvps_deleted"] == 1
    assert list(EventRSVP.objects.values_list("pk", flat=True)) == [kept.pk]
    settings.RETENTION_EVENT_RSVPS_DAYS = 0
    EventRSVP.objects.create(user=alice, date=today - timedelta(days=400), preferred_time=time(19))
    assert retention.sweep_event_rsvps() == 0


def test_rsvp_chart_counts_per_date_and_per_15_minute_slot(event_on):
    users = [UserFactory() for _ in range(4)]
    day = date.today() + timedelta(days=2)
    for user, at in zip(users, (time(19, 0), time(19, 14), time(19, 15), time(21, 59)), strict=True):
        EventRSVP.objects.create(user=user, date=day, preferred_time=at)
    EventRSVP.objects.create(user=users[0], date=day + timedelta(days=1), preferred_time=time(20))
    chart = event_rsvps.rsvp_chart(since=date.today())
    assert chart.per_date == [(day, 4), (day + timedelta(days=1), 1)]
    slots = dict(chart.per_slot)
    assert len(slots) == 12  # 19:00 … 21:45, empty ones included
    assert (slots["19:00"], slots["19:15"], slots["20:00"], slots["21:45"], slots["20:30"]) == (2, 1, 1, 1, 0)
    assert dict(event_rsvps.rsvp_chart(day=day).per_slot)["20:00"] == 0


# --- admin -----------------------------------------------------------------------------------


@pytest.fixture
def mod_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


SETTINGS_FORM = {
    "enabled": "on",
    "title": "Rendezvous night",
    "banner": "7–10 pm",
    "time_zone": "Europe/Paris",
    "window_start": "18:00",
    "window_end": "21:30",
    "weekdays": ["4", "5"],
}


def test_staff_edit_the_settings_in_the_admin_audited(mod_client, moderator):
    response = mod_client.post(reverse("admin:chat_eventsettings_add"), SETTINGS_FORM)
    assert response.status_code == 302, response.content
    row = EventSettings.objects.get()
    assert (row.enabled, row.time_zone, row.weekdays, row.window_end) == (True, "Europe/Paris", [4, 5], time(21, 30))
    assert row.updated_by == moderator
    assert AuditLog.objects.filter(event_type="event_settings.changed", actor=moderator).count() == 1
    assert mod_client.get(reverse("admin:chat_eventsettings_changelist")).status_code == 200
    edited = {**SETTINGS_FORM, "weekdays": []}
    assert mod_client.post(reverse("admin:chat_eventsettings_change", args=[1]), edited).status_code == 302
    assert EventSettings.objects.get().weekdays == []


@pytest.mark.parametrize(
    ("change", "field"),
    [({"time_zone": "Nowhere/Land"}, "time_zone"), ({"window_start": "22:00", "window_end": "01:00"}, "window_end")],
)
def test_the_admin_form_refuses_a_bad_zone_or_a_midnight_crossing(mod_client, change, field):
    response = mod_client.post(reverse("admin:chat_eventsettings_add"), {**SETTINGS_FORM, **change})
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not EventSettings.objects.exists()


def test_staff_grant_and_revoke_access_outside_events_in_the_admin(mod_client, moderator, alice):
    response = mod_client.post(reverse("admin:chat_eventaccesspass_add"), {"user": str(alice.pk), "note": "QA"})
    assert response.status_code == 302, response.content
    grant = EventAccessPass.objects.get()
    assert (grant.user, grant.granted_by, grant.note) == (alice, moderator, "QA")
    response = mod_client.post(
        reverse("admin:chat_eventaccesspass_changelist"),
        {"action": "delete_selected", "_selected_action": [str(alice.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    assert not EventAccessPass.objects.exists()
    events = list(AuditLog.objects.filter(target=alice).values_list("event_type", flat=True).order_by("pk"))
    assert events == ["event_access.granted", "event_access.revoked"]


def test_staff_give_and_take_access_outside_events_from_the_user_list(mod_client, moderator, alice, bob):
    changelist = reverse("admin:accounts_user_changelist")
    selected = [str(alice.pk), str(bob.pk)]
    response = mod_client.post(changelist, {"action": "grant_event_access", "_selected_action": selected})
    assert response.status_code == 302
    assert set(EventAccessPass.objects.values_list("user_id", flat=True)) == {alice.pk, bob.pk}
    assert AuditLog.objects.filter(event_type="event_access.granted", actor=moderator).count() == 2
    mod_client.post(changelist, {"action": "revoke_event_access", "_selected_action": [str(bob.pk)]})
    assert list(EventAccessPass.objects.values_list("user_id", flat=True)) == [alice.pk]
    assert AuditLog.objects.filter(event_type="event_access.revoked", target=bob).count() == 1


def test_the_rsvp_admin_shows_the_charts(mod_client, event_on):
    day = date.today() + timedelta(days=1)
    for at in (time(19), time(19, 5), time(20, 30)):
        EventRSVP.objects.create(user=UserFactory(), date=day, preferred_time=at)
    response = mod_client.get(reverse("admin:chat_eventrsvp_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="rdv-chart"') == 2 and "RSVPs per 15-minute slot" in html
    assert dict(response.context["rsvp_chart"].per_slot)["19:00"] == 2
    one_day = mod_client.get(reverse("admin:chat_eventrsvp_changelist"), {"slot_date": day.isoformat()})
    assert one_day.status_code == 200 and one_day.context["slot_date"] == day


# --- persistence_check and concurrency -------------------------------------------------------


def invariant_violations() -> dict[str, int]:
    from operations import invariants

    return {r.name: r.violations for r in invariants.run_invariants().results if not r.ok}


def test_persistence_check_finds_a_zone_postgres_does_not_know_and_an_rsvp_date_out_of_range(configure, alice):
    configure(enabled=True, time_zone="Europe/Paris")
    EventRSVP.objects.create(user=alice, date=date(2027, 3, 12), preferred_time=time(19))
    assert invariant_violations() == {}
    EventSettings.objects.filter(pk=1).update(time_zone="Mars/Olympus")  # behind the service's back
    EventRSVP.objects.create(user=UserFactory(), date=date(2027, 6, 1), preferred_time=time(19))  # 83 days ahead
    found = invariant_violations()
    assert found == {"event_settings_row_is_valid": 1, "event_rsvp_dates_are_valid": 1}


@pytest.mark.django_db(transaction=True)
def test_parallel_rsvps_of_one_user_and_date_make_one_row():
    from tests.concurrency import run_in_parallel

    staff, user = UserFactory(staff=True), UserFactory()
    update_settings(moderator=staff, enabled=True, window_start=time(19), window_end=time(22), time_zone=LA)
    times = [time(19, 15 * i) if i < 4 else time(20, 15 * (i - 4)) for i in range(8)]
    results = run_in_parallel(8, lambda i: event_rsvps.rsvp(user, day=date(2027, 3, 12), preferred_time=times[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    row = EventRSVP.objects.get(user=user)
    assert row.preferred_time in times


@pytest.mark.django_db(transaction=True)
def test_parallel_grants_of_one_pass_make_one_row_and_one_audit_line():
    from tests.concurrency import run_in_parallel

    staff, user = UserFactory(staff=True), UserFactory()
    results = run_in_parallel(6, lambda i: event_mode.grant_pass(user.pk, moderator=staff))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert EventAccessPass.objects.filter(user=user).count() == 1
    assert AuditLog.objects.filter(event_type="event_access.granted").count() == 1


def test_a_data_request_includes_rsvps_the_pass_and_the_waitlist_entry(moderator, alice):
    from operations.user_data import user_document
    from referrals.models import WaitlistEntry

    EventRSVP.objects.create(user=alice, date=date(2027, 3, 12), preferred_time=time(19, 30))
    event_mode.grant_pass(alice.pk, moderator=moderator)
    alice.email = "alice@example.edu"
    alice.save(update_fields=["email"])
    WaitlistEntry.objects.create(email=alice.email, name="A", school="USC", state="CA", code_digest="f" * 64)
    document = user_document(alice)
    assert [r["date"] for r in document["event_rsvps"]] == [date(2027, 3, 12)]
    assert document["event_access_pass"][0]["user_id"] == alice.pk
    assert document["waitlist_entry"][0]["school"] == "USC"
    assert "code_digest" not in document["waitlist_entry"][0]
