"""Run a parsing job on untrusted bytes in a separate process with CPU, memory and time limits.

A hostile file can make a parser spin for minutes or allocate gigabytes. Whatever parses an
upload runs here instead of in the web worker: ``run_job(name, data)`` starts a fresh
interpreter (``python -m core.sandbox_worker``) with a minimal environment, no inherited file
descriptors and nothing but the bytes on stdin. The worker limits itself before it reads them
(``RLIMIT_CPU``, ``RLIMIT_AS``, no files written), runs the job and answers on stdout with one
line of JSON (the header) followed by the cleaned bytes, or with a refusal code. A worker that is
killed, runs out of memory or passes the wall-clock limit is a refusal too: ``too_complex``.

Jobs are named; a name maps to a ``module:function`` the worker imports, so a plugin can
register its own (``register_job``) without core importing it. A job takes ``(data, options)``
and returns ``(header, bytes)`` or raises ``Refused``.

Settings (with their defaults): ``SANDBOX_CPU_SECONDS`` (5), ``SANDBOX_MEMORY_MB`` (512, the
worker's whole address space) and ``SANDBOX_WALL_SECONDS`` (10; the upload view gives all the
files of one request that much together, so a request never outlives gunicorn's timeout).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

logger = logging.getLogger(__name__)

# The directory holding the ``core`` package: the worker is started there, so ``-m`` finds it.
_ROOT = Path(__file__).resolve().parent.parent
# Nothing of the web worker's environment (secrets, database URLs) reaches the job.
_ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
# The worker's exit status when the job ran out of memory or stack.
EXIT_TOO_COMPLEX = 3

JOBS: dict[str, str] = {
    # PDF, JPEG or PNG in; the same re-written without active content or metadata out.
    "receipt": "core.sanitize:clean_upload",
    # A PDF in; the state of its signature against the trust roots given out (no bytes).
    "pdf_signature": "core.pdf_signatures:check_signature",
}


class Refused(Exception):
    """The job refuses the input; ``code`` says why (a key the web layer turns into a message)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    """What one job may use: CPU seconds, address space in MB, seconds of wall-clock time."""

    cpu_seconds: int = 5
    memory_mb: int = 512
    wall_seconds: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping) -> Limits:
        """The limits an application configures (``SANDBOX_*``), else the defaults."""
        default = cls()
        return cls(
            cpu_seconds=int(config.get("SANDBOX_CPU_SECONDS", default.cpu_seconds)),
            memory_mb=int(config.get("SANDBOX_MEMORY_MB", default.memory_mb)),
            wall_seconds=float(config.get("SANDBOX_WALL_SECONDS", default.wall_seconds)),
        )

    def until(self, deadline: float) -> Limits:
        """These limits with the clock cut to what is left before ``deadline`` (a
        ``time.monotonic()`` value): several files of one request share one budget."""
        left = max(deadline - time.monotonic(), 0.1)
        return replace(self, wall_seconds=min(self.wall_seconds, left))


@dataclass(frozen=True)
class Result:
    """What a job gave back: its JSON header and the bytes."""

    header: dict
    data: bytes


def register_job(name: str, target: str) -> None:
    """Make ``target`` (``"package.module:function"``) runnable as job ``name``."""
    module, _, function = target.partition(":")
    if not module or not function:
        raise ValueError(f"job target must be 'module:function', not {target!r}")
    JOBS[name] = target


def run_job(name: str, data: bytes, *, limits: Limits | None = None,
            options: Mapping | None = None) -> Result:
    """Run job ``name`` on ``data`` in a limited process; raises ``Refused`` with the job's code,
    or ``too_complex`` when the process was stopped at a limit."""
    limits = limits or Limits()
    settings = {"limits": asdict(limits), "options": dict(options or {})}
    argv = [sys.executable, "-E", "-s", "-m", "core.sandbox_worker", JOBS[name],
            json.dumps(settings)]
    try:
        completed = subprocess.run(  # noqa: S603 (our own interpreter and module, no shell)
            argv, input=data, capture_output=True, timeout=limits.wall_seconds, env=_ENV,
            cwd=_ROOT, close_fds=True, start_new_session=True, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        # subprocess.run has killed and reaped the worker.
        raise Refused("too_complex", f"{name}: over {limits.wall_seconds} s") from exc
    if completed.returncode != 0:
        if completed.returncode < 0 or completed.returncode == EXIT_TOO_COMPLEX:
            raise Refused("too_complex", f"{name}: stopped ({completed.returncode})")
        logger.warning("sandbox job %s failed (%s): %s", name, completed.returncode,
                       completed.stderr[-2000:].decode("utf-8", "replace"))
        raise Refused("corrupt", f"{name}: worker failed")
    head, newline, body = completed.stdout.partition(b"\n")
    try:
        header = json.loads(head) if newline else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise Refused("corrupt", f"{name}: no answer")
    if "refused" in header:
        raise Refused(str(header["refused"]), str(header.get("detail", "")))
    return Result(header=header, data=body)
