"""The suite on a busy machine (issue 14, item 11): `make test` twice back to back, with CI=true,
while a CPU-bound process runs on every CPU.

Starts one busy Python process per CPU (a loop, at normal priority: the suite gets no head start),
runs the command (`make test`) twice in a row, stops the load, and prints for each run its wall
time, its pass/fail counts, the slowest tests against their timeouts and what the fuzzing ran
(the sections tests/timing.py prints under CI=true), with the load average before and after.
Exit status 1 when a run failed, including a test over half of its timeout (CI=true makes that
a failure).

    make test-loaded                                   # the whole suite twice: needs the machine
    make test-loaded PYTEST_ARGS=tests/test_pdf.py     # each run narrowed (reaches make test)
    .venv/bin/python bench/loaded.py --runs 1 --busy 1 --command '.venv/bin/python -m pytest
        tests/test_pdf.py'                             # the moving parts, without make

Each run's whole output goes to the terminal as it comes and to ``--log-dir`` (a temporary
folder by default), one file a run.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# pytest's last line: "==== 1873 passed, 2 skipped in 311.20s (0:05:11) ====" (no "=" with -q).
FINAL = re.compile(r"^=* ?\d+ (passed|failed|errors?|skipped|deselected)\b.* in [\d.]+s\b")
SEPARATOR = re.compile(r"^[-=]{3,} ?(?P<title>.*?) ?[-=]{3,}$")
# The sections of the summary worth repeating (tests/timing.py prints them under CI=true).
SECTIONS = ("slowest tests against their timeouts", "FAILED:", "fuzzed forms",
            "short test summary info")


def start_load(count: int, nice: int = 0) -> list[subprocess.Popen]:
    """``count`` processes that each keep one CPU busy until stopped, at ``nice`` (0: the
    suite's own priority)."""
    loop = f"import os\nos.nice({int(nice)})\nwhile True: pass"
    return [subprocess.Popen([sys.executable, "-c", loop])  # noqa: S603
            for _ in range(count)]


def stop_load(busy: list[subprocess.Popen]) -> None:
    """Stop the processes ``start_load`` started (each by its own handle)."""
    for process in busy:
        process.terminate()
    for process in busy:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(command: list[str], log: Path) -> tuple[float, int, str]:
    """Run ``command`` with CI=true, echoing and logging its output; (seconds, exit status,
    output)."""
    env = {**os.environ, "CI": "true"}
    began = time.monotonic()
    lines = []
    with log.open("w", encoding="utf-8") as out, subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace") as process:
        for line in process.stdout:
            sys.stdout.write(line)
            out.write(line)
            lines.append(line.rstrip("\n"))
    return time.monotonic() - began, process.returncode, "\n".join(lines)


def summary(output: str) -> tuple[str, list[str]]:
    """pytest's final line (its counts and time), and the summary sections worth repeating."""
    lines = output.splitlines()
    final = next((line for line in reversed(lines) if FINAL.match(line)), "")
    kept, keep = [], False
    for line in lines:
        separator = SEPARATOR.match(line)
        if separator:
            keep = any(separator.group("title").startswith(name) for name in SECTIONS)
        if line == final:
            keep = False
        if keep:
            kept.append(line)
    return final.strip("= "), kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs back to back (2)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1,
                        help="busy processes (default: one per CPU)")
    parser.add_argument("--busy-nice", type=int, default=0,
                        help="niceness of the busy processes (default 0, as the suite's; the "
                             "suite's own test of this script yields its CPU with 19)")
    parser.add_argument("--command", default="make test",
                        help="what each run runs, with CI=true (default: make test)")
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="where each run's output is written (default: a temporary folder)")
    args = parser.parse_args()
    command = shlex.split(args.command)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="kp-loaded-"))
    log_dir.mkdir(parents=True, exist_ok=True)

    load_before = os.getloadavg()[0]
    busy = start_load(args.busy, args.busy_nice)
    print(f"loaded: {args.busy} busy process(es) (pids {' '.join(str(p.pid) for p in busy)}) on "
          f"{os.cpu_count()} CPU(s); load average {load_before:.2f} before; "
          f"{args.runs} run(s) of: {args.command}", flush=True)
    results = []
    try:
        for number in range(1, args.runs + 1):
            log = log_dir / f"run-{number}.log"
            seconds, status, output = run(command, log)
            results.append((number, seconds, status, log, *summary(output)))
    finally:
        load_during = os.getloadavg()[0]
        stop_load(busy)

    print(f"\n===== {len(results)} run(s) under load: {args.command} =====")
    print(f"{args.busy} busy process(es) on {os.cpu_count()} CPU(s), stopped; load average "
          f"{load_before:.2f} before, {load_during:.2f} at the end of the last run")
    for number, seconds, status, log, final, sections in results:
        minutes, rest = divmod(seconds, 60)
        told = final or "no pytest summary"
        print(f"\nrun {number}: {int(minutes)} min {rest:04.1f} s wall, exit status {status} "
              f"({'passed' if status == 0 else 'FAILED'}); {told}; log {log}")
        for line in sections:
            print(f"  {line}")
    return 0 if results and all(r[2] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
