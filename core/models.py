"""Tables every plugin shares: the county governor offices."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, enum_column
from core.i18n import pick


class Region(enum.StrEnum):
    """The turnus regions the offices belong to."""

    NORD = "nord"
    MIDT_VEST = "midt-vest"
    SOR_OST = "sor-ost"

    @property
    def title(self):
        """The region's name in the active language."""
        return {
            Region.NORD: _l("North"),
            Region.MIDT_VEST: _l("Central-West"),
            Region.SOR_OST: _l("South-East"),
        }[self]


class County(Base):
    """A county governor office (Statsforvaltaren i …)."""

    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name_nn: Mapped[str] = mapped_column(sa.String(120))
    name_nb: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str] = mapped_column(sa.String(120))
    office_nn: Mapped[str] = mapped_column(sa.String(160))
    office_nb: Mapped[str] = mapped_column(sa.String(160))
    office_en: Mapped[str] = mapped_column(sa.String(160))
    region: Mapped[Region] = mapped_column(
        enum_column(Region))
    email: Mapped[str] = mapped_column(sa.String(200))
    default_locale: Mapped[str] = mapped_column(sa.String(2), default="nn")

    def name(self, locale: str | None = None) -> str:
        """The county's name in ``locale`` (default: the active one)."""
        return pick(self, "name", locale, self.default_locale)

    def office(self, locale: str | None = None) -> str:
        """The office's full name, e.g. 'Statsforvaltaren i Vestland'."""
        return pick(self, "office", locale, self.default_locale)
