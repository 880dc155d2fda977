"""core.events: subscribers run only for the application they were subscribed in, in the
publisher's session."""

from __future__ import annotations

from app import create_app
from core.events import Namespace, publish, subscribe

signals = Namespace()
happened = signals.signal("happened")


def test_a_subscriber_hears_only_its_own_applications_events(app_config):
    heard = []

    def receiver(sender, *, session, what):
        heard.append((sender.name, session, what))

    with_it = create_app({**app_config, "PLUGINS": []})
    without_it = create_app({**app_config, "PLUGINS": []})
    with_it.name = "with"
    subscribe(with_it, happened, receiver)
    subscribe(with_it, happened, receiver)  # once is once, however often a set-up runs

    with without_it.app_context():
        publish(happened, "session-b", what="unheard")
    with with_it.app_context():
        publish(happened, "session-a", what="enrolled")
    assert heard == [("with", "session-a", "enrolled")]
    for application in (with_it, without_it):
        application.extensions["kp_engine"].dispose()
