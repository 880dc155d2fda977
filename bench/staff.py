"""Benchmark: the staff pages that grow with the years, on PostgreSQL with 100,000 travel claims
and 50,000 enrollments: the claims queue (``/staff/refunds/``, 50 claims to a page) and an
offering's participant list (everyone on one page), as a logged-in county caseworker sees
them, through gunicorn.

Every status filter of the queue is measured ("" waiting for a decision, each status, "all").
Baselines in the same run: the default queue, "all" and the list without the claims-offering
migration's indexes (its two new ones dropped, the status index covering the enrollment as
before), the queue with every waiting claim on one page as before it had pages (a second app
server with ``REFUNDS_QUEUE_PAGE_SIZE=500``), and the bare Flask "hello" app under the same
gunicorn settings. Prints EXPLAIN (ANALYZE, BUFFERS) of the pages' statements, with and without
the indexes, and writes them to ``bench/plans/`` (``--plans``).

Goal: p99 < 100 ms for both pages; worker peak RSS < 120 MB.

    .venv/bin/python bench/staff.py [--rounds 3] [--seconds 10] [--connections 4]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import figures
import pyotp
import sqlalchemy as sa
from common import (
    BENCH_DIR,
    RSS_GOAL_MB,
    SECRET_KEY,
    Gunicorn,
    app_env,
    bulk_insert,
    database_url,
    fix_sequences,
    machine_summary,
    now_utc,
    reset_database,
    seed_catalog,
)
from http_load import Client, load, median_result

from app import create_app
from core.auth import create_staff
from core.db import session_scope, utcnow
from core.two_factor import seal
from enrollment.models import CourseOffering, Enrollment
from refunds.cli import load_rate_schemes
from refunds.models import Claim, ClaimLine, ClaimStatus, LineKind, RateScheme, Receipt, TravelMeans

P99_GOAL_MS = 100.0
PASSWORD = "bench-password-correct-horse"  # noqa: S105 (a throwaway account)
TOTP_SECRET = "JBSWY3DPEHPK3PXPKURSPORTALBENCH2"  # noqa: S105 (the throwaway account's app)
PLUGINS = '["enrollment", "certificates", "refunds"]'
# What the claims-offering migration (271ec408199e) adds, as (name, statement that restores it,
# statement of the baseline without it): for the baseline the queue's two new indexes are
# dropped and the status index covers the enrollment again, as before, then all are restored.
_QUEUE_INDEX = "CREATE INDEX ix_claims_status_submitted_at ON claims (status, submitted_at, id) "
INDEXES = [
    ("ix_claims_offering_status",
     "CREATE INDEX ix_claims_offering_status ON claims (offering_id, status, submitted_at, id)",
     None),
    ("ix_claims_sent_submitted_at", "CREATE INDEX ix_claims_sent_submitted_at ON claims "
     "(submitted_at, id) INCLUDE (offering_id) WHERE status <> 'draft'", None),
    ("ix_claims_status_submitted_at", _QUEUE_INDEX + "INCLUDE (offering_id)",
     _QUEUE_INDEX + "INCLUDE (enrollment_id)"),
]
# Every status filter of the queue: "" (waiting for a decision, the default), each status
# staff can pick, and "all".
QUEUE_FILTERS = {"queue": "", **{f"queue-{s.value}": s.value for s in ClaimStatus
                                 if s != ClaimStatus.DRAFT}, "queue-all": "all"}
# docs/deployment.md: on SSDs a random read costs about what a sequential one does.
PG_SETTINGS = {"random_page_cost": "1.1"}


def claim_status(share: int) -> ClaimStatus:
    """From a share 0–99: 3 % waiting for a decision, 5 % drafts, the rest decided (mostly
    paid)."""
    if share < 3:
        return ClaimStatus.SUBMITTED if share < 2 else ClaimStatus.RESUBMITTED
    if share < 8:
        return ClaimStatus.DRAFT
    return {8: ClaimStatus.RETURNED, 9: ClaimStatus.APPROVED, 10: ClaimStatus.APPROVED,
            11: ClaimStatus.REJECTED}.get(share, ClaimStatus.PAID)


def seed_claims(engine: sa.Engine, claims: int, enrollments: int, now) -> None:
    """``claims`` claims over the enrollments, two lines each, a receipt on each claim waiting
    for a decision; submission dates spread over two years, the waiting ones recent."""
    with engine.begin() as conn:
        scheme_id = conn.scalar(sa.select(RateScheme.id).where(RateScheme.is_default))
        offering_of = dict(conn.execute(sa.select(Enrollment.id, Enrollment.offering_id)).all())

        def claim_rows() -> Iterator[dict]:
            # Random, not number % 100: that would put every waiting claim in three counties.
            shares = random.Random(7)
            for number in range(1, claims + 1):
                status = claim_status(shares.randrange(100))
                if status == ClaimStatus.DRAFT:
                    submitted = None
                elif status in (ClaimStatus.SUBMITTED, ClaimStatus.RESUBMITTED):
                    submitted = now - timedelta(days=number % 60, minutes=number % 1440)
                else:
                    submitted = now - timedelta(days=60 + number % 700, minutes=number % 1440)
                enrollment_id = (number - 1) % enrollments + 1
                yield dict(id=number, enrollment_id=enrollment_id,
                           offering_id=offering_of[enrollment_id], scheme_id=scheme_id,
                           status=status,
                           reference=f"RR-{now.year}-{number:06d}", bank_account="15038800000",
                           total_ore=50000 + number % 100000, created_at=now, updated_at=now,
                           first_submitted_at=submitted, submitted_at=submitted)

        def line_rows() -> Iterator[dict]:
            for number in range(1, claims + 1):
                day = (now - timedelta(days=number % 760)).date()
                # executemany wants the same keys in every row
                yield dict(claim_id=number, position=0, kind=LineKind.LEG, travel_date=day,
                           from_place="Voss", to_place="Bergen", means=TravelMeans.OWN_CAR,
                           km=100, amount_paid_ore=None, amount_ore=50000)
                yield dict(claim_id=number, position=1, kind=LineKind.TOLL, travel_date=day,
                           from_place="", to_place="", means=None, km=None,
                           amount_paid_ore=4500, amount_ore=4500)

        def receipt_rows() -> Iterator[dict]:
            shares = random.Random(7)
            for number in range(1, claims + 1):
                if shares.randrange(100) < 3:
                    data = f"%PDF-1.4 bench receipt {number}".encode()
                    yield dict(claim_id=number, data=data, content_type="application/pdf",
                               sha256=hashlib.sha256(data).hexdigest(),
                               original_sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                               original_name="kvittering.pdf", uploaded_at=now)

        bulk_insert(conn, Claim.__table__, claim_rows())
        bulk_insert(conn, ClaimLine.__table__, line_rows(), chunk=10000)
        bulk_insert(conn, Receipt.__table__, receipt_rows())
        fix_sequences(conn, ["claims", "claim_lines", "receipts"])


def seed(args, url: str) -> tuple[sa.Engine, int, str]:
    """Everything the pages read; returns the engine, the offering shown and the staff e-mail."""
    now = now_utc()
    engine = reset_database(url)
    with session_scope(engine) as session:
        load_rate_schemes(session)
    seed_catalog(engine, args.offerings, args.enrollments, now, people=args.people)
    seed_claims(engine, args.claims, args.enrollments, now)
    # 30 confirmed (with the certificates' actions), 137 waiting (offering 1: only cancelled)
    offering_id = 2
    email = "saksbehandlar@example.org"
    with session_scope(engine) as session:
        offering = session.get(CourseOffering, offering_id)
        user = create_staff(session, email=email, name="Sakshandsamar", password=PASSWORD,
                            county=offering.county, locale="en")
        user.totp_secret = seal(TOTP_SECRET, SECRET_KEY)
        user.totp_confirmed_at = utcnow()
    with engine.begin() as conn:
        name = conn.scalar(sa.text("SELECT current_database()"))
        for setting, value in PG_SETTINGS.items():
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET {setting} = {value}'))
    vacuum(engine)
    return engine, offering_id, email


def vacuum(engine: sa.Engine) -> None:
    """VACUUM ANALYZE: tables in service are mostly all-visible (autovacuum), which is what
    lets an index-only scan skip the table; right after a bulk load they are not yet."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def swap_indexes(engine: sa.Engine, baseline: bool) -> None:
    """The performance migration's indexes (``baseline=False``) or what there was before."""
    with engine.begin() as conn:
        for name, restore, before in INDEXES:
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
            statement = before if baseline else restore
            if statement:
                conn.execute(sa.text(statement))
    vacuum(engine)


def second_step_code(url: str, email: str) -> str:
    """The caseworker's current TOTP code; the record of the last code used is cleared first,
    since a code is accepted once and the benchmark logs the same account in several times."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE staff_users SET totp_last_step = NULL WHERE email = :email"),
                     {"email": email})
    engine.dispose()
    return pyotp.TOTP(TOTP_SECRET).now()


def log_in(server: Gunicorn, email: str, url: str) -> str:
    """The Cookie header of a logged-in caseworker (password, then the second step)."""
    client = Client(server.base)
    token = client.csrf_token("/staff/login")
    status, _headers, _body = client.request(
        "POST", "/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if status != 302:
        raise SystemExit(f"login failed: {status}")
    token = client.csrf_token("/staff/login/code")
    status, _headers, _body = client.request(
        "POST", "/staff/login/code",
        data={"code": second_step_code(url, email), "csrf_token": token})
    if status != 302:
        raise SystemExit(f"second step of the login failed: {status}")
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def page_sizes(server: Gunicorn, cookie: str, paths: dict[str, str]) -> None:
    """Show what each page holds, so the figures can be read against it."""
    client = Client(server.base)
    for name, path in paths.items():
        status, _headers, body = client.request("GET", path, headers={"Cookie": cookie})
        rows = body.count("<tr>") - 1
        print(f"  {name:12} {path}: {status}, {rows} table rows, {len(body) / 1024:.0f} KB")
        if status != 200:
            raise SystemExit(f"{path} answered {status}")


def measure(servers: dict, paths: dict, cookie: str, args, label: str) -> dict[str, list]:
    """Rounds of each page (and hello) in turn."""
    results: dict[str, list] = {name: [] for name in paths}
    for number in range(1, args.rounds + 1):
        for name, path in paths.items():
            headers = {} if name == "hello" else {"Cookie": cookie}
            result = load(servers[name].base + path, args.seconds, args.connections, headers)
            results[name].append(result)
            print(f"  {label} round {number} {name:12} {result.line()}")
    return results


def explain(url: str, email: str, paths: dict[str, str], label: str,
            plans_dir: Path | None) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the pages run on claims or enrollments;
    printed, and written to ``plans_dir/<page>-<label>.txt`` when given."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "PLUGINS": ["enrollment", "certificates", "refunds"], "LOG_LEVEL": "WARNING"})
    engine = app.extensions["kp_engine"]
    client = app.test_client()
    client.post("/staff/login", data={"email": email, "password": PASSWORD})
    client.post("/staff/login/code", data={"code": second_step_code(url, email)})
    for name, path in paths.items():
        statements: list[tuple[str, dict]] = []

        def capture(conn, cursor, statement, parameters, context, executemany,
                    statements=statements):
            statements.append((statement, parameters))

        client.get(path)  # warm: the plans of a page served before, as under load
        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            client.get(path)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        lines = [f"=== {path} ({label}): {len(statements)} statements; plans of those on "
                 "claims or enrollments"]
        with engine.connect() as conn:
            for statement, parameters in statements:
                if not any(t in statement for t in ("FROM claims", "FROM enrollments",
                                                    "JOIN claims", "JOIN enrollments")):
                    continue
                lines.append("\n--- " + " ".join(statement.split())[:400])
                plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                            parameters).scalars().all()
                # IN-lists of dozens of ids make lines long; the plan's shape is what counts.
                lines.extend(line if len(line) < 200 else line[:197] + "..." for line in plan)
        text = "\n".join(lines)
        print("\n" + text)
        if plans_dir is not None:
            plans_dir.mkdir(parents=True, exist_ok=True)
            (plans_dir / f"{name}-{label}.txt").write_text(text + "\n")
    engine.dispose()


def report(results: dict, baseline: dict, app_server: Gunicorn,
           hello_server: Gunicorn, connections: int = 4) -> bool:
    """Medians against the baselines and the goals; whether every goal is met."""
    medians = {name: median_result(runs) for name, runs in results.items()}
    without = {name: median_result(runs) for name, runs in baseline.items()}
    hello = medians["hello"]
    print(f"\nmedians of {len(results['hello'])} rounds")
    for name in (*QUEUE_FILTERS, "participants"):
        if name not in without:
            result = medians[name]
            print(f"  {name:12} {result.line()}")
            print(f"    p99 {result.p99:.1f} ms (goal < {P99_GOAL_MS:.0f} ms: "
                  f"{'met' if result.p99 < P99_GOAL_MS else 'MISSED'})")
            continue
        result = medians[name]
        print(f"  {name:12} {result.line()}")
        print(f"  {'  no index':12} {without[name].line()}")
        print(f"    p99 {result.p99:.1f} ms (without the migration's indexes "
              f"{without[name].p99:.1f} ms; hello {hello.p99:.1f} ms; goal < {P99_GOAL_MS:.0f} ms: "
              f"{'met' if result.p99 < P99_GOAL_MS else 'MISSED'})")
    if "queue-1page" in medians:
        one = medians["queue-1page"]
        print(f"  {'queue, all on one page (before paging)':12}\n  {'':12} {one.line()}")
        print(f"    paged queue p50 {medians['queue'].p50:.1f} ms vs one page {one.p50:.1f} ms "
              f"({one.p50 / medians['queue'].p50:.1f} ×)")
    print(f"  {'hello':12} {hello.line()}")
    rss_met = app_server.peak_mb < RSS_GOAL_MB
    print(f"  peak worker RSS: app {app_server.memory_line()}; "
          f"hello {hello_server.memory_line()} (goal < {RSS_GOAL_MB} MB for the app: "
          f"{'met' if rss_met else 'MISSED'})")
    names = {"queue": "claims queue, waiting", "queue-all": "claims queue, all",
             "participants": "participant list"}
    names.update({name: f"claims queue, {value}" for name, value in QUEUE_FILTERS.items()
                  if name not in names})
    figures.record("staff", [
        figures.Figure(label=names[name], rate=medians[name].rps, baseline_label="hello",
                       baseline_rate=hello.rps, p99_ms=medians[name].p99,
                       baseline_p99_ms=hello.p99)
        for name in (*QUEUE_FILTERS, "participants")],
        context=f"{connections} connections, medians of {len(results['hello'])} rounds")
    return app_server.peak_mb < RSS_GOAL_MB and all(
        medians[name].p99 < P99_GOAL_MS and not medians[name].errors
        for name in (*QUEUE_FILTERS, "participants"))


def main() -> int:
    """Seed, serve, measure with and without the index, explain, clean up; exit status 1
    when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--offerings", type=int, default=300)
    parser.add_argument("--enrollments", type=int, default=50000)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--claims", type=int, default=100000)
    parser.add_argument("--plans", type=Path, default=BENCH_DIR / "plans",
                        help="where to write the query plans (default bench/plans)")
    args = parser.parse_args()

    url = database_url()
    print(machine_summary(url))
    started = time.monotonic()
    engine, offering_id, email = seed(args, url)
    with engine.connect() as conn:
        counts = {name: conn.scalar(sa.text(f"SELECT count(*) FROM {name}"))  # noqa: S608
                  for name in ("course_offerings", "participants", "enrollments", "claims",
                               "claim_lines", "receipts")}
    print(f"seeded in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{n} {name}" for name, n in counts.items()))
    print("PostgreSQL settings for the run (docs/deployment.md): "
          + ", ".join(f"{k} = {v}" for k, v in PG_SETTINGS.items()))
    paths = {**{name: "/staff/refunds/" + (f"?status={value}" if value else "")
                for name, value in QUEUE_FILTERS.items()},
             "participants": f"/staff/courses/{offering_id}/participants", "hello": "/"}
    try:
        with ExitStack() as stack, \
                Gunicorn("app:create_app()", env=app_env(url, FLASK_PLUGINS=PLUGINS),
                         workers=args.workers) as app, \
                Gunicorn("hello:create_app()", chdir=BENCH_DIR, workers=args.workers) as hello:
            servers = {name: app for name in paths}
            servers["hello"] = hello
            # The queue as it was before it had pages: every waiting claim on one page.
            one_page = stack.enter_context(Gunicorn(
                "app:create_app()", workers=args.workers, env=app_env(
                    url, FLASK_PLUGINS=PLUGINS, FLASK_REFUNDS_QUEUE_PAGE_SIZE="500")))
            servers["queue-1page"] = one_page
            paths["queue-1page"] = paths["queue"]
            cookie = log_in(app, email, url)
            print(f"workers: {len(app.workers())} per server (sync), {args.connections} "
                  f"connections, {args.rounds} rounds of {args.seconds:g} s; pages:")
            for name in (*QUEUE_FILTERS, "participants", "queue-1page"):
                page_sizes(servers[name], cookie, {name: paths[name]})
            for name, server in servers.items():  # warm up
                load(server.base + paths[name], 2, args.connections,
                     {} if name == "hello" else {"Cookie": cookie})
            results = measure(servers, paths, cookie, args, "indexed")
            # The baseline without the indexes: the default queue, "all" and the list.
            pages = {k: v for k, v in paths.items()
                     if k in ("queue", "queue-all", "participants")}
            plans = {**pages, "queue-all": "/staff/refunds/?status=all&page=2",
                     "queue-paid": paths["queue-paid"]}
            swap_indexes(engine, baseline=True)
            try:
                baseline = measure(servers, pages, cookie, args, "no index")
                print("\n=== without the migration's indexes")
                explain(url, email, plans, "without-indexes", args.plans)
            finally:
                swap_indexes(engine, baseline=False)
            print("\n=== with the migration's indexes")
            explain(url, email, plans, "with-indexes", args.plans)
            app.sample()
            hello.sample()
            met = report(results, baseline, app, hello, args.connections)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            name = conn.scalar(sa.text("SELECT current_database()"))
            for setting in PG_SETTINGS:
                conn.execute(sa.text(f'ALTER DATABASE "{name}" RESET {setting}'))
        engine.dispose()
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
