"""Benchmark: the minute an attractive course opens. 500 people enroll at once in a 30-seat
offering through gunicorn and PostgreSQL; each first fetches the form with a browser of its own
(cookie jar, CSRF token), then all 500 POSTs are released together.

Checks each round: exactly 30 confirmed and 470 waitlisted, the seat counter at 30 and the
waiting-list counter at 470, the waiting list in arrival order (nobody waitlisted arrived before
someone confirmed; the places people were told in their mail are 1…470, each once, and match
the final order), a mail queued for each, no 5xx. Reports each round and the worst; the
baseline, in the same run, is the same 500-connection burst of GETs against a bare Flask
"hello" app under the same gunicorn settings, in turns with the enrollment bursts.

The production rate limits are on (``ENROLL_IP_RATE_LIMIT`` and the per-address and per-HPR
limits at their defaults, counted in the database as in production): all 500 come from one
address, as from a hospital's network, and the default per-IP ceiling (1000 per 10 minutes)
lets one morning's burst through. Each round is a new morning: the counters are emptied
before it, so 20 rounds within minutes do not add up against the one address.

Goals (issue 15): exact counts and order in every round, 0 responses 5xx, median ≥ 150
enrollments/s over the rounds, and p99 ≤ 5 × the hello burst's p99 (the median over the
rounds of each round's p99, both measured in this run).

    .venv/bin/python bench/burst.py [--repeat 20] [--people 500] [--seats 30]
                                    [--baseline-tree DIR]

``--baseline-tree DIR`` bursts, in turns with this checkout's app, the app of another
checkout (the code before a change) on the same database, so a change is compared within
one run on the same loaded machine.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

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
)
from http_load import Client, percentile

from core.db import session_scope
from core.limits import RateLimitCounter
from core.mail import OutboxMessage
from core.models import County
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
    Participant,
)

RATE_GOAL = 150.0  # enrollments per second, median over the rounds
P99_HELLO_FACTOR = 5.0  # the enrollment burst's p99 against the hello burst's


@dataclass
class Outcome:
    """One POST: when it was answered, how, and what the person was told."""

    number: int
    status: int
    seconds: float
    told_status: str | None = None
    told_position: int | None = None


def create_offering(engine: sa.Engine, seats: int) -> int:
    """A published, open 30-seat public-health course for LIS1 doctors; returns its id."""
    now = now_utc()
    with session_scope(engine) as session:
        offering = CourseOffering(
            county=session.scalar(sa.select(County).where(County.slug == "vestland")),
            kind=session.scalar(sa.select(CourseKind).where(CourseKind.code == "public_health")),
            cohort=now.date().replace(day=1, month=3, year=now.year + 1),
            title_nn="Populært kurs", title_nb="Populært kurs", title_en="Popular course",
            venue="Bergen", capacity=seats, status=OfferingStatus.PUBLISHED,
            enroll_opens_at=now - timedelta(hours=1), enroll_closes_at=now + timedelta(days=20),
            cancel_deadline=now + timedelta(days=30),
            sessions=[CourseSession(starts_at=now + timedelta(days=40),
                                    ends_at=now + timedelta(days=40, hours=7), place="Bergen")],
        )
        session.add(offering)
        session.flush()
        return offering.id


def person(offering_id: int, number: int, cohort: str) -> dict[str, str]:
    """Form values of a distinct LIS1 doctor."""
    return dict(full_name=f"Lege {number}", email=f"lege{offering_id}-{number}@example.org",
                phone="412 34 567", role="lis1", hpr_number=str(4000000 + number),
                employer="Bergen kommune", start_month=cohort, needs="", locale="nn",
                consent="y")


def burst(clients: list, send) -> tuple[list[Outcome], float]:
    """Release ``send(number, client)`` on every client at once; returns outcomes and the
    wall time from release to the last answer."""
    outcomes: list[Outcome | None] = [None] * len(clients)
    barrier = threading.Barrier(len(clients) + 1)

    def run(number: int) -> None:
        barrier.wait()
        began = time.perf_counter()
        try:
            status, told = send(number, clients[number])
        except OSError:
            status, told = 599, (None, None)
        outcomes[number] = Outcome(number, status, time.perf_counter() - began, *told)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.perf_counter()
    for thread in threads:
        thread.join()
    return [o for o in outcomes if o is not None], time.perf_counter() - released


def enrollment_round(engine, server: Gunicorn, people: int, seats: int) -> dict:
    """One round: a new offering, ``people`` browsers with tokens, the burst, the checks."""
    offering_id = create_offering(engine, seats)
    with engine.connect() as conn:
        cohort = conn.scalar(sa.select(CourseOffering.cohort)
                             .where(CourseOffering.id == offering_id)).strftime("%Y-%m")
    path = f"/courses/{offering_id}/enroll"
    clients = [Client(server.base) for _ in range(people)]
    tokens: list[str] = [""] * people
    with ThreadPoolExecutor(16) as pool:  # fetching the forms is not part of the burst
        for number, token in enumerate(pool.map(lambda c: c.csrf_token(path), clients)):
            tokens[number] = token
    with engine.begin() as conn:  # a new morning: no counts left from the round before
        conn.execute(sa.delete(RateLimitCounter.__table__))

    def send(number: int, client: Client):
        data = {**person(offering_id, number, cohort), "csrf_token": tokens[number]}
        status, _headers, _body = client.request("POST", path, data=data)
        return status, (None, None)

    outcomes, wall = burst(clients, send)
    told_in_mail(engine, offering_id, outcomes)
    return {"outcomes": outcomes, "wall": wall, **check(engine, offering_id, outcomes, seats)}


def told_in_mail(engine, offering_id: int, outcomes: list[Outcome]) -> None:
    """What each person was told: the status and place recorded for their mail (the page
    after the form says neither; the mail to the address does)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(OutboxMessage.to_address, OutboxMessage.params)
                            .where(OutboxMessage.kind == "enrollment.enrolled",
                                   OutboxMessage.to_address.like(f"lege{offering_id}-%"))).all()
    by_number = {o.number: o for o in outcomes}
    for address, params in rows:
        outcome = by_number.get(int(address.split("-")[1].split("@")[0]))
        if outcome is not None:
            outcome.told_status = params.get("status")
            outcome.told_position = params.get("position")


def check(engine, offering_id: int, outcomes: list[Outcome], seats: int) -> dict:
    """Compare what the database holds with what each person was told."""
    problems = []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Enrollment.status, Enrollment.arrived_at, Enrollment.id,
                      Participant.email)
            .join(Participant, Participant.id == Enrollment.participant_id)
            .where(Enrollment.offering_id == offering_id)
            .order_by(Enrollment.arrived_at, Enrollment.id)
        ).all()
        taken, waiting = conn.execute(
            sa.select(CourseOffering.seats_taken, CourseOffering.waitlist_length)
            .where(CourseOffering.id == offering_id)).one()
        mails = conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.to_address.like(f"lege{offering_id}-%")))
    confirmed = [r for r in rows if r.status == EnrollmentStatus.CONFIRMED]
    waitlisted = [r for r in rows if r.status == EnrollmentStatus.WAITLISTED]
    people = len(outcomes)
    if (len(confirmed), len(waitlisted), taken, waiting) != (seats, people - seats, seats,
                                                             people - seats):
        problems.append(f"counts: {len(confirmed)} confirmed, {len(waitlisted)} waitlisted, "
                        f"seats_taken {taken}, waitlist_length {waiting}")
    wrong = sum(1 for o in outcomes if o.told_status is None or (o.told_status == "confirmed")
                != (o.told_position is None))
    if wrong:
        problems.append(f"{wrong} mails with no status or a place that does not fit it")
    if confirmed and waitlisted and max((r.arrived_at, r.id) for r in confirmed) > min(
            (r.arrived_at, r.id) for r in waitlisted):
        late = sum(1 for r in confirmed if (r.arrived_at, r.id) > (waitlisted[0].arrived_at,
                                                                   waitlisted[0].id))
        problems.append(f"arrival order: {late} confirmed arrived after the first waitlisted")
    told = {o.number: o for o in outcomes}
    final_place = {int(r.email.split("-")[1].split("@")[0]): place
                   for place, r in enumerate(waitlisted, start=1)}
    positions = sorted(o.told_position for o in outcomes if o.told_position is not None)
    if positions != list(range(1, people - seats + 1)):
        problems.append(f"told places are not 1…{people - seats} once each "
                        f"({len(set(positions))} distinct of {len(positions)})")
    moved = sum(1 for n, place in final_place.items() if told[n].told_position != place)
    if moved:
        problems.append(f"{moved} people were told a place other than their place now")
    if mails != people:
        problems.append(f"{mails} mails queued for {people} enrollments")
    return {"problems": problems, "confirmed": len(confirmed), "waitlisted": len(waitlisted)}


def hello_round(server: Gunicorn, people: int) -> dict:
    """The baseline: the same burst of GETs against the bare Flask app."""
    clients = [Client(server.base) for _ in range(people)]
    outcomes, wall = burst(clients, lambda n, c: (c.request("GET", "/")[0], (None, None)))
    return {"outcomes": outcomes, "wall": wall, "problems": []}


def summary(result: dict) -> dict:
    """Percentiles and failures of one round."""
    seconds = [o.seconds for o in result["outcomes"]]
    statuses = [o.status for o in result["outcomes"]]
    return {
        "p50": percentile(seconds, 50), "p99": percentile(seconds, 99), "max": max(seconds),
        "wall": result["wall"], "rps": len(seconds) / result["wall"],
        "5xx": sum(1 for s in statuses if s >= 500),
        "other": sum(1 for s in statuses if s < 500 and s not in (200, 302)),
        "problems": result["problems"],
    }


def line(name: str, s: dict) -> str:
    """One round as a line."""
    return (f"{name:12} p50 {s['p50'] * 1000:7.1f} ms  p99 {s['p99'] * 1000:7.1f} ms  "
            f"max {s['max'] * 1000:7.1f} ms  all answered in {s['wall']:5.2f} s "
            f"({s['rps']:6.1f} req/s)  5xx {s['5xx']}  other non-2xx/3xx {s['other']}"
            + ("  PROBLEMS: " + "; ".join(s["problems"]) if s["problems"] else ""))


def main() -> int:
    """Seed, serve, run the rounds, print, clean up; exit status 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--seats", type=int, default=30)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--baseline-tree", type=Path, default=None, metavar="DIR",
                        help="a checkout of the code before a change: its app is burst in "
                             "turns with this one's, on the same database, for a same-run "
                             "comparison")
    args = parser.parse_args()

    url = database_url()
    print(machine_summary(url))
    engine = reset_database(url)
    env = app_env(url)  # the production rate limits, on
    try:
        with ExitStack() as stack, \
                Gunicorn("app:create_app()", env=env, workers=args.workers) as app, \
                Gunicorn("hello:create_app()", chdir=BENCH_DIR, workers=args.workers) as hello:
            before = None
            if args.baseline_tree:
                tree = args.baseline_tree.resolve()
                before = stack.enter_context(Gunicorn(
                    "app:create_app()", env={**env, "PYTHONPATH": str(tree)},
                    workers=args.workers, chdir=tree))
            print(f"workers: {len(app.workers())} per server (sync); {args.people} people, "
                  f"{args.seats} seats, {args.repeat} rounds; production rate limits ON "
                  f"(defaults: ENROLL_IP_RATE_LIMIT 1000 per 10 minutes, all from one address; "
                  f"the counters emptied before each round)"
                  + (f"; in turns with the code in {args.baseline_tree}" if before else "")
                  + "\n")
            rounds, baselines, earlier = [], [], []
            for number in range(1, args.repeat + 1):
                baselines.append(summary(hello_round(hello, args.people)))
                if before is not None:
                    earlier.append(summary(enrollment_round(engine, before, args.people,
                                                            args.seats)))
                rounds.append(summary(enrollment_round(engine, app, args.people, args.seats)))
                print(f"round {number:2}  " + line("enroll", rounds[-1]))
                if earlier:
                    print("          " + line("before", earlier[-1]))
                print("          " + line("hello GET", baselines[-1]))
            if earlier:
                print(f"\nthe code before ({args.baseline_tree}), same rounds: median "
                      f"{statistics.median(s['rps'] for s in earlier):.1f} enrollments/s, "
                      f"median p99 {statistics.median(s['p99'] for s in earlier):.2f} s, "
                      f"worst p99 {max(s['p99'] for s in earlier):.2f} s; problems in rounds "
                      f"{[n for n, s in enumerate(earlier, 1) if s['problems'] or s['5xx']]}")
            met = report(rounds, baselines, app, hello, args.people)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    return 0 if met else 1


def report(rounds: list[dict], baselines: list[dict], app_server: Gunicorn,
           hello_server: Gunicorn, people: int) -> bool:
    """The worst round against the goals, with the baseline of the same run; whether every
    goal is met."""
    worst = max(rounds, key=lambda s: s["p99"])
    hello = max(baselines, key=lambda s: s["p99"])
    failed = [n for n, s in enumerate(rounds, start=1) if s["problems"] or s["5xx"]]
    print(f"\nworst of {len(rounds)} rounds (highest p99)")
    print("  " + line("enroll", worst))
    print("  " + line("hello GET", hello))
    print(f"  median over the rounds: {statistics.median(s['rps'] for s in rounds):.1f} "
          f"enrollments/s (range {min(s['rps'] for s in rounds):.1f}–"
          f"{max(s['rps'] for s in rounds):.1f})")
    print(f"  median p99 over the rounds: enroll "
          f"{statistics.median(s['p99'] for s in rounds) * 1000:.1f} ms, hello "
          f"{statistics.median(s['p99'] for s in baselines) * 1000:.1f} ms")
    print("\nagainst the goals")
    print(f"  counts and arrival order exact in every round: "
          f"{'met' if not failed else 'MISSED in rounds ' + str(failed)}")
    print(f"  5xx responses: {sum(s['5xx'] for s in rounds)} (goal 0: "
          f"{'met' if not any(s['5xx'] for s in rounds) else 'MISSED'})")
    rate = statistics.median(s["rps"] for s in rounds)
    p99 = statistics.median(s["p99"] for s in rounds)
    hello_p99 = statistics.median(s["p99"] for s in baselines)
    rate_met, p99_met = rate >= RATE_GOAL, p99 <= P99_HELLO_FACTOR * hello_p99
    print(f"  median {rate:.1f} enrollments/s (goal ≥ {RATE_GOAL:.0f}: "
          f"{'met' if rate_met else 'MISSED'})")
    print(f"  median p99 {p99:.3f} s = {p99 / hello_p99:.1f} × hello's {hello_p99:.3f} s (goal ≤ "
          f"{P99_HELLO_FACTOR:.0f} ×: {'met' if p99_met else 'MISSED'}); worst p99 "
          f"{worst['p99']:.3f} s against hello's worst {hello['p99']:.3f} s")
    rss_met = app_server.peak_mb < RSS_GOAL_MB
    print(f"  peak worker RSS: app {app_server.memory_line()}; "
          f"hello {hello_server.memory_line()} (goal < {RSS_GOAL_MB} MB for the app: "
          f"{'met' if rss_met else 'MISSED'})")
    figures.record("burst", [figures.Figure(
        label=f"enrollment POSTs, burst of {people}", rate=rate,
        baseline_label=f"hello GETs, burst of {people}",
        baseline_rate=statistics.median(s["rps"] for s in baselines),
        p99_ms=p99 * 1000, baseline_p99_ms=hello_p99 * 1000)],
        context=f"{people} at once from one address, medians of {len(rounds)} rounds")
    return not failed and rate_met and p99_met and rss_met

if __name__ == "__main__":
    raise SystemExit(main())
