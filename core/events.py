"""Domain events: a service says what happened, and whoever cares (mail, audit, other plugins)
subscribes.

Each plugin declares its events in one module (``enrollment/events.py``, ...) as blinker signals
of its own namespace, each with a docstring naming what it carries. A service publishes inside
its transaction, after the change is flushed, with the request's or command's session::

    publish(events.enrolled, session, enrollment=enrollment, token=token)

Subscribers are connected per application in the plugins' ``init_app`` with :func:`subscribe`,
so an application built without a plugin (``PLUGINS``) never runs that plugin's subscribers,
even in a process that has built others. A subscriber works in the same session and
transaction: what it writes (an audit event, an outbox row) is committed with the change or not
at all. It must not commit, and it must not do slow work such as rendering mail: it records what
to send, and the outbox renders and sends after the commit.
"""

from __future__ import annotations

from collections.abc import Callable

from blinker import NamedSignal, Namespace
from flask import Flask, current_app
from sqlalchemy.orm import Session

__all__ = ["Namespace", "publish", "subscribe"]


def publish(signal: NamedSignal, session: Session, **data: object) -> None:
    """Tell the current application's subscribers of ``signal`` what happened."""
    signal.send(current_app._get_current_object(), session=session, **data)


def subscribe(app: Flask, signal: NamedSignal, receiver: Callable[..., object]) -> None:
    """Run ``receiver(app, session=..., **data)`` on every ``signal`` published in ``app``."""
    signal.connect(receiver, sender=app, weak=False)
