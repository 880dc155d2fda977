"""Jobs for tests/test_receipt_sandbox.py, run by ``core.sandbox_worker`` in its own process."""

from __future__ import annotations

import json
import os
import time


def spin(data: bytes, options: dict) -> tuple[dict, bytes]:
    """Use CPU until the limit stops the process."""
    while True:
        pass


def swell(data: bytes, options: dict) -> tuple[dict, bytes]:
    """Ask for more memory than the limit allows."""
    return {}, bytes(2 * 1024 * 1024 * 1024)


def sleep(data: bytes, options: dict) -> tuple[dict, bytes]:
    """Use no CPU at all, only time."""
    time.sleep(60)
    return {}, b""


def world(data: bytes, options: dict) -> tuple[dict, bytes]:
    """What the job sees of its process: environment, open descriptors, limits, its input."""
    return {"fds": sorted(os.listdir("/proc/self/fd")), "options": options}, json.dumps(
        dict(os.environ)).encode() + b"|" + data
