"""Every e-mail of the enrollment plugin, one module per subject: ``changes`` (to participants
about their enrollment: received, promoted, cancelled, change of address; staff decisions:
approved, rejected, cancelled by staff, moved; a course the office cancelled) and ``links``
(lost links, personal-data links), ``messages`` (what staff write to an offering's
participants), ``offers`` (a waiting-list seat offered, accepted, run out)
``reminders`` (the course reminder, sent by ``flask reminders send``), each in the
participant's own language, and ``invitations`` (to roster people: staff's invitation, the
deadline reminder), in the county's; ``shared`` holds what they share.

The mails that follow a change are recorded mail (``core.mail_kinds``): a subscriber of the
change's event (``enrollment.events``) records the kind, the recipient, the language and the ids
and facts of the moment (a fresh manage-link token, a waiting-list place) in the outbox, in the
change's transaction; the renderer of the kind loads what it needs by id and renders the
templates after the commit, so nothing is rendered while the offering's seat lock is held. The
lost-link job (``core.jobs``) runs in the sender, after any commit, and renders its mail at once.

A module of this package offers ``SUBSCRIBERS`` (event, receiver), ``RENDERERS`` (kind,
renderer) and ``REMINDERS`` (``core.reminders`` kinds); ``init_app`` registers those of every
module in ``MODULES``.
"""

from __future__ import annotations

from flask import Flask

from core.events import subscribe
from core.jobs import register_job
from core.mail_kinds import register_mail
from core.reminders import register_reminder
from enrollment.mail import changes, invitations, links, messages, offers, reminders

MODULES = (changes, links, messages, offers, reminders, invitations)


def init_app(app: Flask) -> None:
    """Subscribe the mail to the plugin's events, register each kind's renderer and the
    lost-link job."""
    for module in MODULES:
        for signal, receiver in getattr(module, "SUBSCRIBERS", ()):
            subscribe(app, signal, receiver)
        for kind, renderer in getattr(module, "RENDERERS", {}).items():
            register_mail(app, kind, renderer)
        for kind in getattr(module, "REMINDERS", ()):
            register_reminder(app, kind)
    register_job(app, links.LOST_LINK_JOB, links.send_lost_links)
