"""The staff page of the travel rates: each scheme's rules and its rates with their validity,
their source, and the "to be confirmed by the office" mark on figures no official source
confirmed.

County staff see the scheme their county's claims are computed by; administrators see every
scheme. The page only reads.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template
from flask_login import current_user

from core.auth import staff_required
from core.db import get_session, utcnow
from core.i18n import current_locale, to_local
from core.routes import Routes
from refunds.calc import format_share
from refunds.services.rates import rates_by_kind, visible_schemes

routes = Routes()


def source_link(url: str) -> tuple[str, str] | None:
    """``(url, host)`` for a web address worth linking to, None for anything else (an empty
    or non-web address in the data is shown as text, never as a link)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url, parts.hostname.removeprefix("www.")


@routes.get("/staff/refunds/rates")
@staff_required
def list_rates():
    """The rate schemes the user works with, their rates by kind, the rate in force marked."""
    schemes = visible_schemes(get_session(), county_id=current_user.county_id,
                              every_scheme=current_user.is_admin)
    locale = current_locale()
    return render_template(
        "refunds/staff/rates.html",
        schemes=[(scheme, rates_by_kind(scheme)) for scheme in schemes],
        today=to_local(utcnow()).date(), source_link=source_link,
        share=lambda percent: format_share(percent, locale),
    )
