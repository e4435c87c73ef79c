#!/usr/bin/env python
"""Memory of export_data / import_data as the data grows: flat, because both stream.

Creates a scratch database (<DATABASE_URL's name>_bench_export, dropped and re-created),
migrates it, fills usc_scan_attempts with N generated rows (plus one of everything else is
not needed: the other tables stream the same way), then for each size runs
`manage.py export_data`, `wipe_database` and `import_data` as child processes and prints
their wall time and peak RSS (ru_maxrss of that child). Peak RSS should not grow with N.

    make bench ARGS="export_memory --rows 1000000"
    python bench/export_memory.py --rows 1000000 --steps 3   # 1/9, 1/3 and all of it
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import environ
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


def scratch_url(url: str) -> tuple[str, dict, str]:
    config = environ.Env.db_url_config(url)
    name = f"{config['NAME']}_bench_export"
    base, _, _ = url.rpartition("/")
    host = config["HOST"].replace("%2F", "/").replace("%2f", "/")
    conninfo = {"host": host or None, "port": config["PORT"] or None, "user": config["USER"] or None}
    if config.get("PASSWORD"):
        conninfo["password"] = config["PASSWORD"]
    return f"{base}/{name}", {k: v for k, v in conninfo.items() if v}, name


def recreate(conninfo: dict, name: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fill(conninfo: dict, name: str, rows: int) -> None:
    with psycopg.connect(dbname=name, autocommit=True, **conninfo) as conn:
        conn.execute("TRUNCATE usc_scan_attempts RESTART IDENTITY")
        conn.execute(
            """
            INSERT INTO usc_scan_attempts (usc_id_hash, last4, barcode_format, passed_validation,
                validation_errors, resulted_in_signup, resulted_in_login, ip, user_agent, scanned_at)
            SELECT encode(sha256(i::text::bytea), 'hex'), lpad((i %% 10000)::text, 4, '0'), 'digits10',
                   i %% 3 = 0, '["checksum"]'::jsonb, false, i %% 7 = 0, '10.0.0.1', 'bench/' || i,
                   now() - (i || ' seconds')::interval
            FROM generate_series(1, %s) AS i
            """,
            [rows],
        )


def run_child(args: list[str], env: dict) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one manage.py child."""
    started = time.monotonic()
    child = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({status})")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=2, help="sizes rows/3^(steps-1) … rows")
    args = parser.parse_args()
    url, conninfo, name = scratch_url(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rendezvous"))
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "LOG_LEVEL": "WARNING"}
    print(f"scratch database {name}")
    recreate(conninfo, name)
    migrate = [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)  # noqa: S603 - our own manage.py
    sizes = sorted({max(1, args.rows // 3**k) for k in range(args.steps)})
    print(f"{'rows':>10}  {'export s':>8}  {'export MB':>9}  {'import s':>8}  {'import MB':>9}  {'jsonl MB':>8}")
    for rows in sizes:
        fill(conninfo, name, rows)
        with tempfile.TemporaryDirectory() as scratch:
            backup = Path(scratch) / "backup"
            export_s, export_mb = run_child(["export_data", str(backup), "--no-progress"], env)
            size_mb = sum(p.stat().st_size for p in backup.iterdir()) / 2**20
            run_child(["wipe_database", "--yes"], env)
            import_s, import_mb = run_child(["import_data", str(backup), "--no-progress"], env)
        print(f"{rows:>10}  {export_s:>8.1f}  {export_mb:>9.0f}  {import_s:>8.1f}  {import_mb:>9.0f}  {size_mb:>8.0f}")
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
