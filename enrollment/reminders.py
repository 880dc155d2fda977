"""Enrollment's part in the periodic ``flask reminders send`` (``core.reminders``): the sweep
that ends waiting-list offers that have run out and passes their seats on
(``services.offers``), one offering per transaction. The course reminder, a reminder kind, is
registered with the plugin's mail (``enrollment.mail.reminders``)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy.engine import Engine

from core.db import new_session, session_scope
from core.reminders import register_sweep
from enrollment.services import offers

OFFERS_SWEEP = "enrollment.expired_offers"


def expire_offers(engine: Engine, now: datetime) -> int:
    """End every offer that has run out at ``now``, each offering in a transaction of its own
    under its row lock; returns how many ended (by this process: another one running at the
    same time ends the rest)."""
    with new_session(engine, write=False) as session:
        offering_ids = offers.offerings_with_expired_offers(session, now)
    ended = 0
    for offering_id in offering_ids:
        with session_scope(engine) as session:
            ended += len(offers.expire_offers(session, offering_id, now))
    return ended


def init_app(app: Flask) -> None:
    """Register the sweep."""
    register_sweep(app, OFFERS_SWEEP, expire_offers)
