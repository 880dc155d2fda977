"""Extension point for the participant's manage page.

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
