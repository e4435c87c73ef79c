#!/usr/bin/env python
"""Fault injection against a stack of its own: `make bench ARGS="faults"` (or python bench/faults.py).

Starts its own PostgreSQL and Redis (the embedded servers' binaries, data in a scratch folder)
and `scripts/stack.py run` on them (2 ASGI workers, Celery worker and beat, supervised), signs
in --pairs × 2 users cycling full calls (invite → accept → a message each way with client ids →
end) and --long-calls pairs sitting in a call, polls /healthz and GET /api/me, then applies each
fault in turn (tests/fault_scenarios.py):

    redis_restart_empty  Redis killed, started again empty after --redis-down s
    redis_freeze         Redis SIGSTOPped for --freeze s
    celery_kill          kill -9 of Celery beat and worker (the supervisor restarts them)
    asgi_worker_kill     kill -9 of one uvicorn worker
    pg_freeze            every PostgreSQL process SIGSTOPped for --freeze s
    pg_restart_fast      PostgreSQL kill -9, started again at once
    pg_down              PostgreSQL kill -9, started again after --pg-down s
    stack_restart        SIGTERM of scripts/stack.py, then started again (a redeploy)

and prints per fault: writes acknowledged during it, lost and duplicated (every acknowledged
write looked up in PostgreSQL), errors by code (WebSocket codes, http_<status> for REST),
the slowest answer while it lasted, seconds from the heal to the first full call, long calls
that ended, reconnects; then the load average. docs/operations.md → Faults has a run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fault_scenarios import HEADER, run_fault  # noqa: E402
from tests.faults import PostgresServer, RedisServer, Stack, create_users  # noqa: E402

FAULTS = (
    "redis_restart_empty",
    "redis_freeze",
    "celery_kill",
    "asgi_worker_kill",
    "pg_freeze",
    "pg_restart_fast",
    "pg_down",
    "stack_restart",
)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


async def main(args) -> int:
    folder = Path(tempfile.mkdtemp(prefix="rdv-faults-"))
    postgres, redis = PostgresServer(folder), RedisServer(folder)
    postgres.start()
    redis.start()
    stack = Stack(folder, postgres, redis)
    try:
        print(f"stack serving after {stack.start():.1f} s (fresh database, migrations included)", flush=True)
        users = create_users(stack, 2 * (args.pairs + args.long_calls))
        seconds = {"redis_restart_empty": args.redis_down, "redis_freeze": args.freeze, "pg_freeze": args.freeze}
        seconds |= {"pg_down": args.pg_down, "celery_kill": 10, "asgi_worker_kill": 10}
        rows = []
        for fault in args.faults:
            report = await run_fault(
                fault,
                stack,
                postgres,
                redis,
                users,
                seconds=seconds.get(fault, 0),
                pairs=args.pairs,
                long_calls=args.long_calls,
            )
            print(report.row(), flush=True)
            if report.details["lost"] or report.details["duplicated"] or args.verbose:
                print(f"    {report.details}", flush=True)
            rows.append(report)
        print()
        print(HEADER)
        for report in rows:
            print(report.row())
        print(f"\nload average (1, 5, 15 min) at the end: {loadavg()}")
        return 0 if all(r.lost == 0 and r.duplicated == 0 for r in rows) else 1
    finally:
        stack.stop()
        postgres.stop()
        redis.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"logs in {folder}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10, help="pairs cycling full calls")
    parser.add_argument("--long-calls", type=int, default=10, help="pairs sitting in a call throughout")
    parser.add_argument("--redis-down", type=float, default=20)
    parser.add_argument("--freeze", type=float, default=15)
    parser.add_argument("--pg-down", type=float, default=10)
    parser.add_argument("--faults", nargs="+", default=list(FAULTS), choices=FAULTS)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs)")
    parser.add_argument("--verbose", action="store_true", help="print each fault's details (slowest answers, REST)")
    sys.exit(asyncio.run(main(parser.parse_args())))
