"""Extension points for the participant's manage page, the cancel confirmation page and the
course page.

Other plugins (refunds) add panels and cancel notices at registration; enrollment never imports
them. A panel is a callable ``(enrollment, token) -> Markup | None``. The registries live on the
application, so an app built with ``PLUGINS = ["enrollment"]`` alone shows none.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from markupsafe import Markup

ManagePanel = Callable[[object, str], Markup | None]

_KEY = "enrollment.manage_panels"


def register_manage_panel(app: Flask, panel: ManagePanel) -> None:
    """Show ``panel``'s HTML on every manage page of ``app``."""
    panels = app.extensions.setdefault(_KEY, [])
    if panel not in panels:
        panels.append(panel)


def manage_panels() -> list[ManagePanel]:
    """The panels registered on the current application."""
    return current_app.extensions.get(_KEY, [])


# --- what cancelling would do, as other plugins see it -------------------------------------------

CancelNotice = Callable[[object], str | None]

_CANCEL_KEY = "enrollment.cancel_notices"


def register_cancel_notice(app: Flask, notice: CancelNotice) -> None:
    """Add ``notice`` to the page that asks a participant to confirm cancelling: a callable
    ``(enrollment) -> str | None`` that says, in the active language, what cancelling would
    mean for what the plugin holds (e.g. a travel claim not yet sent)."""
    notices = app.extensions.setdefault(_CANCEL_KEY, [])
    if notice not in notices:
        notices.append(notice)


def cancel_notices() -> list[CancelNotice]:
    """The cancel notices registered on the current application."""
    return current_app.extensions.get(_CANCEL_KEY, [])


# Which roles an offering refunds travel costs for is the refunds plugin's rule; the course page
# states it, so the plugin hands the rule over here. Without it the page says nothing about
# refunds (no plugin takes claims).
RefundRule = Callable[[object, object], bool]

_RULE_KEY = "enrollment.refund_rule"


def register_refund_rule(app: Flask, rule: RefundRule) -> None:
    """Let ``rule(offering, role)`` decide whether ``role`` is refunded in ``offering``."""
    app.extensions[_RULE_KEY] = rule


def refund_rule() -> RefundRule | None:
    """The refund rule registered on the current application, if a plugin gave one."""
    return current_app.extensions.get(_RULE_KEY)
