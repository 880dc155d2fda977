"""Benchmark: what one rate-limit hit costs in the database storage (``core.limits``).

Every POST to the enrollment form counts three limits (address, HPR number, IP address), each
one statement of the limiter's own. This times ``incr`` one hit at a time, single-threaded, on
a SQLite file and on PostgreSQL (``BENCH_DATABASE_URL``, emptied and migrated like the other
benchmarks), for a spread of keys (many people) and for one hot key (one hospital's IP
address), with the in-memory storage of one worker as the baseline.

    .venv/bin/python bench/rate_limits.py [--hits 3000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from alembic import command
from common import database_url, machine_summary, reset_database
from limits.storage import MemoryStorage

from core.cli import alembic_config
from core.limits import DATABASE_STORAGE_URI, DatabaseStorage


def timings(storage, hits: int, keys: int) -> list[float]:
    """Seconds per ``incr`` over ``hits`` hits spread round-robin on ``keys`` keys."""
    names = [f"LIMITER/email:{n:032x}|offering_id=1/enrollment.enroll/5/10/minute"
             for n in range(keys)]
    for name in names[:50]:  # connections opened, statements compiled
        storage.incr(name, 600)
    out = []
    for number in range(hits):
        began = time.perf_counter()
        storage.incr(names[number % keys], 600)
        out.append(time.perf_counter() - began)
    return out


def report(label: str, seconds: list[float]) -> str:
    """Median and p99 in microseconds."""
    ordered = sorted(seconds)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    median = statistics.median(ordered)
    return f"{label:<34} median {median * 1e6:8.0f} µs   p99 {p99 * 1e6:8.0f} µs"


def main() -> None:
    """Time each storage and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=3000)
    args = parser.parse_args()
    url = database_url()
    print(machine_summary(url))
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'limits.sqlite'}"
        for name, target in (("SQLite", sqlite_url), ("PostgreSQL", url)):
            if target.startswith("sqlite"):
                command.upgrade(alembic_config(target), "head")
            else:
                reset_database(target).dispose()
            storage = DatabaseStorage(DATABASE_STORAGE_URI, database_url=target)
            print(report(f"{name}, 1000 keys", timings(storage, args.hits, 1000)))
            print(report(f"{name}, one hot key", timings(storage, args.hits, 1)))
            storage.reset()
            storage.close()
    memory = MemoryStorage()
    print(report("memory (one worker), 1000 keys", timings(memory, args.hits, 1000)))


if __name__ == "__main__":
    main()
