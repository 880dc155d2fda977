"""Extension points for the participant's manage page and the cancel confirmation page.

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
