"""The process ``core.sandbox.run_job`` starts: ``python -m core.sandbox_worker module:function
settings-json``, the input on stdin.

It imports the job, limits itself (CPU time, address space, no files written, no core dumps)
and only then reads the untrusted bytes. The answer on stdout is one line of JSON and the
output bytes; a refusal is ``{"refused": code}``. Running out of memory or stack ends the
process with ``EXIT_TOO_COMPLEX``; the CPU limit ends it with SIGXCPU, then SIGKILL.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys

from core.sandbox import EXIT_TOO_COMPLEX, Refused


def _limit(limits: dict) -> None:
    cpu = int(limits["cpu_seconds"])
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    """Run the job named in ``argv`` on stdin; write its answer to stdout."""
    target, settings = argv[1], json.loads(argv[2])
    module, _, function = target.partition(":")
    job = getattr(importlib.import_module(module), function)
    _limit(settings["limits"])
    data = sys.stdin.buffer.read()
    try:
        header, output = job(data, settings["options"])
    except Refused as exc:
        header, output = {"refused": exc.code, "detail": exc.detail}, b""
    except (MemoryError, RecursionError):
        return EXIT_TOO_COMPLEX
    sys.stdout.buffer.write(json.dumps(header).encode() + b"\n" + output)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
