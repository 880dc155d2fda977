"""Benchmark: the public catalog (25 rows, two filters) and a course page under gunicorn on
PostgreSQL, against a bare Flask "hello" app under the same gunicorn settings, in the same run.

Seeds 10 counties, 300 offerings and 20,000 enrollments, starts both apps on 127.0.0.1, loads
each URL from 16 connections in turn (hello, catalog, course; several rounds so that drift in
the machine's load hits all three alike) and prints the median of the rounds.

Goals (issue 15): from the page cache, catalog and course page ≥ 0.5 × hello req/s with p99
< 50 ms; rendered for every request (``*``, the page cache off), catalog ≥ 0.15 × hello and
course page ≥ 0.25 × hello; worker peak RSS < 120 MB.

    .venv/bin/python bench/catalog.py [--rounds 3] [--seconds 10] [--connections 16]

Needs PostgreSQL (BENCH_DATABASE_URL, see bench/common.py) and, for trustworthy figures,
wrk (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import re
import time

import figures
import sqlalchemy as sa
from common import (
    BENCH_DIR,
    RSS_GOAL_MB,
    Gunicorn,
    app_env,
    database_url,
    machine_summary,
    now_utc,
    reset_database,
    seed_catalog,
)
from http_load import get, load, median_result

# Each page's goal as a share of hello's req/s in the same run, and the p99 goal of the pages
# served from the cache.
RATIO_GOALS = {"catalog": 0.5, "course": 0.5, "catalog*": 0.15, "course*": 0.25}
P99_GOAL_MS = 50.0


def main() -> int:
    """Seed, serve, measure, print, clean up; exit status 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: gunicorn.conf.py's, 2 × CPUs + 1)")
    parser.add_argument("--offerings", type=int, default=300)
    parser.add_argument("--enrollments", type=int, default=20000)
    args = parser.parse_args()

    url = database_url()
    print(machine_summary(url))
    started = time.monotonic()
    engine = reset_database(url)
    catalog = seed_catalog(engine, args.offerings, args.enrollments, now_utc())
    with engine.connect() as conn:
        counts = {name: conn.scalar(sa.text(f"SELECT count(*) FROM {name}"))  # noqa: S608
                  for name in ("counties", "course_offerings", "course_sessions", "enrollments")}
    print(f"seeded in {time.monotonic() - started:.1f} s: "
          + ", ".join(f"{n} {name}" for name, n in counts.items()))

    cohort = catalog.cohorts[0].strftime("%Y-%m")
    paths = {
        "hello": "/",
        "catalog": f"/?role=lis1&cohort={cohort}",
        "course": f"/courses/{catalog.offering_ids[0]}",
    }
    # The same pages rendered for every request, as after each change (a seat taken, an edit)
    # or for a filter combination the worker has not rendered yet.
    paths.update({"catalog*": paths["catalog"], "course*": paths["course"]})
    rendered = app_env(url, FLASK_PUBLIC_PAGE_CACHE_SIZE="0")
    try:
        with Gunicorn("app:create_app()", env=app_env(url), workers=args.workers) as app, \
                Gunicorn("app:create_app()", env=rendered, workers=args.workers) as render, \
                Gunicorn("hello:create_app()", chdir=BENCH_DIR, workers=args.workers) as hello:
            servers = {"hello": hello, "catalog": app, "course": app, "catalog*": render,
                       "course*": render}
            status, body = get(app.base + paths["catalog"])
            rows = len(re.findall(r'<li class="offering">', body))
            total = re.search(r'class="result-count"[^>]*>([^<]*)<', body)
            print(f"catalog {paths['catalog']}: {status}, {rows} rows on the page, "
                  f"{total.group(1).strip() if total else '?'}")
            if status != 200 or rows != 25:
                raise SystemExit("the catalog page must answer 200 with 25 rows")
            print(f"workers: {len(app.workers())} per server (sync), "
                  f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g} s\n")
            for name, server in servers.items():  # warm up: imports, templates, pools
                load(server.base + paths[name], 2, args.connections)
            results: dict[str, list] = {name: [] for name in paths}
            for number in range(1, args.rounds + 1):
                for name, server in servers.items():
                    result = load(server.base + paths[name], args.seconds, args.connections)
                    results[name].append(result)
                    print(f"round {number} {name:8} {result.line()}")
            for server in (app, render, hello):
                server.sample()
            met = report(results, app, hello, args.connections)
            print(f"  peak worker RSS of the server rendering every request: "
                  f"{render.memory_line()}")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    return 0 if met else 1


def report(results: dict[str, list], app_server: Gunicorn,
           hello_server: Gunicorn, connections: int = 16) -> bool:
    """Medians, ratios against the baseline and the goals; whether every goal is met."""
    medians = {name: median_result(runs) for name, runs in results.items()}
    hello = medians["hello"]
    print(f"\nmedians of {len(results['hello'])} rounds (* rendered for every request: "
          "FLASK_PUBLIC_PAGE_CACHE_SIZE=0)")
    for name, result in medians.items():
        print(f"  {name:8} {result.line()}  = {result.rps / hello.rps:.2f} × hello")
    print("\nagainst the baseline (hello, same run) and the goals")
    met = app_server.peak_mb < RSS_GOAL_MB
    for name, goal in RATIO_GOALS.items():
        result = medians[name]
        ratio = result.rps / hello.rps
        cached = not name.endswith("*")
        p99_met = result.p99 < P99_GOAL_MS or not cached
        met = met and ratio >= goal and p99_met and not result.errors
        p99_goal = (f"goal < {P99_GOAL_MS:.0f} ms: {'met' if p99_met else 'MISSED'}" if cached
                    else "no goal")
        print(f"  {name:8} {result.rps:7.1f} req/s = {ratio:.2f} × hello {hello.rps:.1f} req/s "
              f"(goal ≥ {goal:.2f} ×: {'met' if ratio >= goal else 'MISSED'}); "
              f"p99 {result.p99:.1f} ms (hello {hello.p99:.1f} ms; {p99_goal}); "
              f"errors {result.errors}")
    rss_met = app_server.peak_mb < RSS_GOAL_MB
    print(f"  peak worker RSS: app {app_server.memory_line()}; "
          f"hello {hello_server.memory_line()} (goal < {RSS_GOAL_MB} MB for the app: "
          f"{'met' if rss_met else 'MISSED'})")
    labels = {"catalog": "catalog, page cache", "course": "course page, page cache",
              "catalog*": "catalog, rendered", "course*": "course page, rendered"}
    figures.record("catalog", [
        figures.Figure(label=labels[name], rate=medians[name].rps, baseline_label="hello",
                       baseline_rate=hello.rps, p99_ms=medians[name].p99,
                       baseline_p99_ms=hello.p99)
        for name in labels],
        context=f"{connections} connections, medians of {len(results['hello'])} rounds")
    return met

if __name__ == "__main__":
    raise SystemExit(main())
