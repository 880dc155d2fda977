"""Deferred jobs: work a request records and the outbox sender does later.

A request that must not show by its timing or its database work whether an address is known
(the lost-link form, staff forgot-password) stores one small ``DeferredJob`` row whatever the
address, and answers. The sender (``send_pending``: ``flask mail send``, and after each request
in development) runs the due jobs before it delivers: the job looks the address up, issues links
or tokens, queues the real mail, and is deleted in the same transaction, so a job's work and
its removal are committed together or not at all.

Handlers are registered by name at ``init_app`` (core knows no plugin: enrollment registers its
own) and are called as ``handler(session, payload)`` inside an application and request context,
so templates, ``url_for`` and ``force_locale`` work. Jobs hold an address until they have run;
nothing about a job but its id and kind is ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, session_scope, utcnow

logger = logging.getLogger("kursportal.jobs")

_KEY = "core.job_handlers"
MAX_ATTEMPTS = 5
RETRY = timedelta(minutes=2)

Handler = Callable[[Session, dict[str, Any]], None]


class DeferredJob(Base):
    """One piece of work recorded by a request and done by the outbox sender."""

    __tablename__ = "deferred_jobs"
    __table_args__ = (sa.Index("ix_deferred_jobs_run_after", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def register_job(app: Flask, kind: str, handler: Handler) -> None:
    """Let ``kind`` jobs be run by ``handler(session, payload)`` (plugins call this at init)."""
    app.extensions.setdefault(_KEY, {})[kind] = handler


def queue_job(session: Session, kind: str, payload: dict[str, Any]) -> DeferredJob:
    """Record a job in the caller's transaction (flushed, not committed)."""
    job = DeferredJob(kind=kind, payload=payload, attempts=0, run_after=utcnow())
    session.add(job)
    session.flush()
    return job


def run_due_jobs(app: Flask, engine: Engine, *, now: datetime | None = None,
                 limit: int = 100) -> int:
    """Run up to ``limit`` due jobs, each in a transaction of its own; returns how many ran.

    A job is taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (on SQLite the write session's
    lock), so two senders never run the same job. A failing job is retried a few times, then
    dropped; only its id, kind and the error's type are logged, never its payload.
    """
    handlers: dict[str, Handler] = app.extensions.get(_KEY, {})
    done = 0
    skipped: list[int] = []
    # Links in the mail come from PUBLIC_BASE_URL (core.web.external_url); the request context
    # only lets url_for and the locale machinery work, it is no one's request.
    base = urlsplit(app.config.get("PUBLIC_BASE_URL") or "http://localhost/")
    with app.test_request_context("/", base_url=f"{base.scheme}://{base.netloc}/"):
        for _ in range(limit):
            ran = _run_one(engine, handlers, now or utcnow(), skipped)
            if ran is None:
                break
            done += ran
    return done


def _run_one(engine: Engine, handlers: dict[str, Handler], now: datetime,
             skipped: list[int]) -> bool | None:
    """Take one due job and run it: True when it ran, False when it could not, None when no
    job is left."""
    failed: tuple[int, str, str] | None = None
    with session_scope(engine) as session:
        job = session.scalar(
            sa.select(DeferredJob)
            .where(DeferredJob.run_after <= now, DeferredJob.id.not_in(skipped))
            .order_by(DeferredJob.run_after, DeferredJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        handler = handlers.get(job.kind)
        if handler is None:
            # An app built without the plugin that registered it: leave the job for one that has.
            skipped.append(job.id)
            return False
        try:
            with session.begin_nested():
                handler(session, dict(job.payload))
        except Exception as exc:  # noqa: BLE001 (any failure of a job is retried, not raised)
            failed = (job.id, job.kind, type(exc).__name__)
            job.attempts += 1
            if job.attempts >= MAX_ATTEMPTS:
                logger.error("Job %s (%s) failed %d times (%s); dropped", job.id, job.kind,
                             job.attempts, failed[2])
                session.delete(job)
            else:
                job.run_after = now + RETRY * 2 ** (job.attempts - 1)
        else:
            session.delete(job)
    if failed is not None:
        logger.warning("Job %s (%s) failed: %s", *failed)
        skipped.append(failed[0])
        return False
    return True
