"""The county governor offices' contact details, as the footer of every page and the
accessibility statement show them.

They come from ``core/data/counties.json`` (the file ``flask counties load`` reads), read once
when the application starts, not from the ``counties`` table: the footer is on every page, and
every page is held to a fixed, counted number of statements (``tests/test_catalog.py``); the
details change only with the file, and a deployment that changes the file redeploys. What the
file gives as ``null`` was not confirmed against the office's own pages and is shown as "to be
confirmed by the office" (the file's ``_contact_source`` says what was checked, where and when).

It imports only core's sorting and locale helpers, no plugin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from core.collation import sort_key
from core.i18n import current_locale

COUNTIES_FILE = Path(__file__).resolve().parent / "data" / "counties.json"
_KEY = "core.offices"


@dataclass(frozen=True)
class Office:
    """One office and how to reach it; ``None`` means not confirmed by the office yet."""

    slug: str
    names: dict[str, str]
    default_locale: str
    email: str
    phone: str | None = None
    postal_address: str | None = None
    web: str | None = None

    def name(self, locale: str | None = None) -> str:
        """The office's name in ``locale`` (default: the active one)."""
        return self.names.get(locale or current_locale()) or self.names[self.default_locale]

    @property
    def tel(self) -> str | None:
        """The phone number as a ``tel:`` link target (digits and a leading +)."""
        if not self.phone:
            return None
        digits = "".join(c for c in self.phone if c.isdigit())
        return "+47" + digits if len(digits) == 8 else "+" + digits


def read_offices(path: Path = COUNTIES_FILE) -> tuple[Office, ...]:
    """Every office in ``path``, in Norwegian alphabetical order of its Bokmål name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    offices = []
    for row in data["counties"]:
        contact = row.get("contact") or {}
        offices.append(Office(
            slug=row["slug"], names=dict(row["office"]), default_locale=row["default_locale"],
            email=row["email"], phone=contact.get("phone"),
            postal_address=contact.get("postal_address"), web=contact.get("web"),
        ))
    return tuple(sorted(offices, key=lambda o: sort_key(o.names["nb"])))


def offices() -> tuple[Office, ...]:
    """The offices read when the application started."""
    return current_app.extensions[_KEY]


def init_app(app: Flask) -> None:
    """Read the offices once and offer them to templates as ``site_offices()``."""
    app.extensions[_KEY] = read_offices()
    app.jinja_env.globals.setdefault("site_offices", offices)
