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


class Municipality(Base):
    """A municipality (kommune) by its official number, in the county office that covers it.

    Loaded from ``core/data/municipalities.json`` (SSB's classification 131, valid from
    2024-01-01) with the counties; never typed as free text, so people can be grouped by it.
    A municipality that leaves the classification is kept, marked ``retired``, because roster
    entries may still name it.
    """

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(4), unique=True)
    # The official name as SSB writes it, with the Sami or Kven form where it has one.
    name: Mapped[str] = mapped_column(sa.String(120))
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    retired: Mapped[bool] = mapped_column(default=False)

    @property
    def label(self) -> str:
        """'4601 Bergen': the number and the name, as lists and exports show it."""
        return f"{self.number} {self.name}"

    def names(self) -> set[str]:
        """Every form of the name a file may give, folded for comparison ('aarborte',
        'hattfjelldal' and 'aarborte - hattfjelldal')."""
        full = self.name.casefold()
        return {full, *(part.strip() for part in full.split(" - "))}
