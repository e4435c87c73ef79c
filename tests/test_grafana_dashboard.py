"""docs/grafana-dashboard.json parses and graphs only metric names /metrics exports."""

import json
import re
from pathlib import Path

from config.metrics import exported_names

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_parses_and_has_the_promised_panels():
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " | ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for wanted in ("calls per minute", "p99", "sockets", "pool waits", "5xx"):
        assert wanted in titles
    assert all(panel["targets"] for panel in dashboard["panels"])


def test_every_metric_the_dashboard_reads_is_exported():
    names = exported_names()
    used = set()
    for expr in expressions():
        without_labels = re.sub(r"\{[^}]*\}", "", expr)
        used |= set(re.findall(r"\brdv_[a-z_]+\b", without_labels))
    assert used, "the dashboard reads no rdv_ metric"
    assert used <= names, used - names
    # Each family is actually exported by that name (a typo'd name in both places is caught
    # by test_metrics.py, which reads them from a real scrape).
    assert {"rdv_operations_total", "rdv_ws_connections_open", "rdv_http_requests_total"} <= used
