"""Extension points for the participant's manage page and the course page.

Other plugins (refunds) add panels at registration; enrollment never imports them. A panel is
a callable ``(enrollment, token) -> Markup | None``. The registry lives on the application, so
an app built with ``PLUGINS = ["enrollment"]`` alone shows none.
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
