"""manage.py recover_rooms: start-up recovery after a restart.

Rooms whose timers ran out while no process was up are ended now, with full bookkeeping;
rooms still running stay live and resume when their clients reconnect; a grace that was
running when the servers stopped starts again from now (the downtime never ends a call);
members with no socket get the 10-second grace. The beat sweep does the same every few seconds."""

from django.core.management.base import BaseCommand

from chat.services import end_overdue_rooms, expire_overdue_invites, restart_graces, start_grace_for_vanished_members


class Command(BaseCommand):
    help = "End overdue rooms and expire stale invites (run at start-up; safe any time)."

    def handle(self, *args, **options):
        restarted = restart_graces()  # first: a grace that ran out while no server was up is not due
        ended = end_overdue_rooms(limit=10_000)
        expired = expire_overdue_invites(limit=10_000)
        graced = start_grace_for_vanished_members()
        self.stdout.write(
            f"recover_rooms: {ended} room(s) acted on, {expired} invite(s) expired, {graced} grace(s),"
            f" {restarted} grace(s) restarted"
        )
