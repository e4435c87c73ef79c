"""Reports weighed by the reporter's standing (docs/moderation.md has the formula, its settings
and worked examples).

A report's weight is what its reporter has at stake and has shown: an aged account, completed
calls, a verified USC identity, and the share of their past reports moderators upheld. Linked
reporters (one network within days, one inviter or introducer, accounts made in one wave)
count once together: a friend group or one person's sock puppets weigh what their heaviest
member weighs. The automatic temporary ban fires on the sum over independent groups."""

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q

from accounts.models import User
from accounts.services.credentials import USC_DOMAIN
from moderation.models import Report
from referrals.models import InviteCode, InviteCodeUse, ReferralNotification


@dataclass(frozen=True)
class Standing:
    """The parts of a reporter's weight (shown to moderators beside each report)."""

    aged: bool
    calls: bool
    verified: bool
    upheld: int
    rejected: int
    weight: float


def is_verified(user: User) -> bool:
    """A scanned USC card, or a verified address on the USC domain."""
    return bool(user.usc_verified_at) or bool(user.email_verified and (user.email or "").endswith(USC_DOMAIN))


def accuracy_factor(upheld: int, rejected: int) -> float:
    """2 x (upheld + 1) / (decided + 2): 1 with no history, towards 2 for a reporter who is
    always upheld, towards 0 for one who never is (Laplace's rule, as Discourse's reviewable
    score uses a reporter's agreed/disagreed flags)."""
    return 2.0 * (upheld + 1) / (upheld + rejected + 2)


def standing_of(reporter: User | None, *, now, had_call: bool = True) -> Standing:
    """The reporter's standing now; None (a system report) weighs REPORT_WEIGHT_SCREENING."""
    if reporter is None:
        return Standing(False, False, False, 0, 0, settings.REPORT_WEIGHT_SCREENING)
    decided = Report.objects.filter(reporter=reporter).aggregate(
        upheld=Count("pk", filter=Q(outcome=Report.Outcome.UPHELD)),
        rejected=Count("pk", filter=Q(outcome=Report.Outcome.REJECTED)),
    )
    aged = reporter.created_at <= now - timedelta(days=settings.REPORT_AGED_DAYS)
    calls = reporter.successful_sessions >= settings.REPORT_MIN_CALLS
    verified = is_verified(reporter)
    raw = (
        settings.REPORT_WEIGHT_BASE
        + (settings.REPORT_WEIGHT_AGED if aged else 0.0)
        + (settings.REPORT_WEIGHT_CALLS if calls else 0.0)
        + (settings.REPORT_WEIGHT_VERIFIED if verified else 0.0)
    )
    weight = raw * accuracy_factor(decided["upheld"], decided["rejected"])
    if not had_call:
        weight *= settings.REPORT_WEIGHT_NO_CALL
    weight = round(min(weight, settings.REPORT_WEIGHT_MAX), 3)
    return Standing(aged, calls, verified, decided["upheld"], decided["rejected"], weight)


def _network(address: str | None):
    if not address:
        return None
    ip = ipaddress.ip_address(address)
    return ipaddress.ip_network(f"{address}/{24 if ip.version == 4 else 48}", strict=False)


def _inviters(user_ids) -> dict:
    """user id -> who invited them (owner of the user invite code they used) or introduced them."""
    found = {}
    codes = InviteCodeUse.objects.filter(user_id__in=user_ids, code__type=InviteCode.Type.USER).values_list(
        "user_id", "code__created_by_id"
    )
    for user_id, inviter in codes:
        if inviter:
            found.setdefault(str(user_id), set()).add(str(inviter))
    intros = ReferralNotification.objects.filter(referred_user_id__in=user_ids, introduced_by__isnull=False)
    for user_id, introducer in intros.values_list("referred_user_id", "introduced_by_id"):
        found.setdefault(str(user_id), set()).add(str(introducer))
    return found


def _linked(a: Report, b: Report, inviters: dict) -> bool:
    if a.reporter_id is None or b.reporter_id is None:
        return False  # system reports are each their own group (they weigh REPORT_WEIGHT_SCREENING)
    net_a, net_b = _network(a.reporter_ip), _network(b.reporter_ip)
    near = abs(a.created_at - b.created_at) <= timedelta(days=settings.REPORT_LINK_NETWORK_DAYS)
    if net_a is not None and net_a == net_b and near:
        return True
    if inviters.get(str(a.reporter_id), set()) & inviters.get(str(b.reporter_id), set()):
        return True
    if {str(a.reporter_id)} & inviters.get(str(b.reporter_id), set()) or {str(b.reporter_id)} & inviters.get(
        str(a.reporter_id), set()
    ):
        return True  # one invited the other
    # A wave: fresh accounts (younger than REPORT_AGED_DAYS at report time) made close together;
    # two aged accounts that happen to date from one launch day are not a wave.
    aged = timedelta(days=settings.REPORT_AGED_DAYS)
    fresh = a.reporter.created_at > a.created_at - aged and b.reporter.created_at > b.created_at - aged
    wave = timedelta(minutes=settings.REPORT_LINK_WAVE_MINUTES)
    return fresh and abs(a.reporter.created_at - b.reporter.created_at) <= wave


def link_groups(reports: list[Report]) -> list[list[Report]]:
    """Reports whose reporters are linked, directly or through others (union-find)."""
    parent = list(range(len(reports)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    inviters = _inviters([r.reporter_id for r in reports if r.reporter_id])
    for i in range(len(reports)):
        for j in range(i + 1, len(reports)):
            if root(i) != root(j) and _linked(reports[i], reports[j], inviters):
                parent[root(j)] = root(i)
    groups: dict[int, list[Report]] = {}
    for i, report in enumerate(reports):
        groups.setdefault(root(i), []).append(report)
    return list(groups.values())


def weighted_evidence(reports: list[Report]) -> float:
    """Sum over linked groups of the group's heaviest report."""
    return round(sum(max(r.weight for r in group) for group in link_groups(reports)), 3)
