"""One metrics registry across real uvicorn processes (prometheus-client's multiprocess mode,
docs/observability.md): a scrape of any worker sees what every worker counted, and a worker
that died (kill -9) stops adding its open sockets."""

import urllib.request

import pytest
from websockets.sync.client import connect

from tests.metrics_support import parse, value

pytestmark = pytest.mark.django_db(transaction=True)


def healthz(stack, times: int) -> None:
    for _ in range(times):
        with urllib.request.urlopen(f"{stack.url}/healthz", timeout=10) as answer:
            assert answer.status == 200


def healthz_count(stack) -> float:
    return value(parse(stack.metrics()), "rdv_http_requests_total", view="healthz", method="GET", status="200")


def test_two_servers_on_one_multiproc_dir_are_scraped_as_one(live_stack, tmp_path):
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "shared-metrics")}
    (tmp_path / "shared-metrics").mkdir()
    first = live_stack("asgi", extra_env=shared)
    second = live_stack("asgi", extra_env=shared)
    baseline = healthz_count(first)

    healthz(first, 3)
    healthz(second, 2)

    assert healthz_count(first) - baseline == 5
    assert healthz_count(second) == healthz_count(first)

    # An open socket on the second server is seen from the first, until that process dies.
    with connect(second.ws_url, open_timeout=10):
        assert value(parse(first.metrics()), "rdv_ws_connections_open") == 1
        second.kill("asgi")
    assert value(parse(first.metrics()), "rdv_ws_connections_open") == 0
    # Its counters stay counted (a dead worker's requests happened).
    assert healthz_count(first) - baseline == 5


def test_uvicorn_with_two_workers_answers_every_scrape_with_the_total(live_stack, tmp_path):
    stack = live_stack("asgi", asgi_args=("--no-proxy-headers", "--workers", "2"))
    baseline = healthz_count(stack)
    healthz(stack, 20)
    # Each scrape lands on either worker; each must see all 20 (plus the earlier scrapes'
    # own requests, which are not healthz).
    counts = {healthz_count(stack) - baseline for _ in range(6)}
    assert counts == {20}
    pids = {path.stem.rsplit("_", 1)[1] for path in (tmp_path / "prometheus").glob("counter_*.db")}
    assert len(pids) >= 2, pids  # both workers wrote samples
