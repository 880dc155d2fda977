"""Rate schemes in use: which scheme a county's claims are computed by, what staff see of
them, and adding a rate."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from core import audit
from core.collation import collated
from core.models import County
from refunds.errors import InvalidInput, NoRateScheme
from refunds.models import Rate, RateKind, RateScheme


def scheme_for(session: Session, county_id: int | None) -> RateScheme:
    """The rate scheme for a county's claims: its own if it has one, else the default."""
    schemes = session.scalars(
        sa.select(RateScheme)
        .where(sa.or_(RateScheme.county_id == county_id, RateScheme.is_default.is_(True)))
        .options(selectinload(RateScheme.rates))
    ).all()
    own = [s for s in schemes if county_id is not None and s.county_id == county_id]
    default = [s for s in schemes if s.is_default and s.county_id is None]
    if own:
        return own[0]
    if default:
        return default[0]
    raise NoRateScheme()


def add_rate(
    session: Session, scheme_id: int, kind: RateKind, *, valid_from: date, actor,
    amount_ore: int = 0, percent: Decimal | None = None, note: str = "",
) -> Rate:
    """Add a rate from ``valid_from``, closing the open period of the same kind the day
    before. A rate that already starts on or after ``valid_from`` refuses (``rate_overlap``)."""
    later = session.scalar(
        sa.select(Rate).where(Rate.scheme_id == scheme_id, Rate.kind == kind,
                              Rate.valid_from >= valid_from).limit(1)
    )
    if later is not None:
        raise InvalidInput(code="rate_overlap")
    if kind.is_percent != (percent is not None) or amount_ore < 0:
        raise InvalidInput(code="rate_invalid")
    current = session.scalars(
        sa.select(Rate).where(
            Rate.scheme_id == scheme_id, Rate.kind == kind,
            sa.or_(Rate.valid_to.is_(None), Rate.valid_to >= valid_from),
        )
    ).all()
    for rate in current:
        rate.valid_to = valid_from - timedelta(days=1)
    rate = Rate(scheme_id=scheme_id, kind=kind, amount_ore=amount_ore, percent=percent,
                valid_from=valid_from, note=note)
    session.add(rate)
    session.flush()
    audit.record(
        session, actor=actor, action="rate.add", object_type="rate", object_id=rate.id,
        county_id=session.scalar(sa.select(RateScheme.county_id)
                                 .where(RateScheme.id == scheme_id)),
        before={"closed": [r.id for r in current]},
        after={"kind": kind.value, "amount_ore": amount_ore,
               "percent": str(percent) if percent is not None else None,
               "valid_from": valid_from.isoformat(), "note": note},
    )
    return rate


def visible_schemes(session: Session, *, county_id: int | None,
                    every_scheme: bool) -> list[RateScheme]:
    """The schemes a staff member sees: every scheme (the default first) for an
    administrator, else the one their county's claims are computed by (none if none applies)."""
    if not every_scheme:
        try:
            return [scheme_for(session, county_id)]
        except NoRateScheme:
            return []
    return list(session.scalars(
        sa.select(RateScheme)
        .outerjoin(RateScheme.county)
        .options(selectinload(RateScheme.rates), contains_eager(RateScheme.county))
        .order_by(RateScheme.is_default.desc(), collated(County.name_nb), RateScheme.code)
    ).unique())


def rates_by_kind(scheme: RateScheme) -> list[tuple[RateKind, list[Rate]]]:
    """The scheme's rates grouped by kind, kinds in their fixed order, each oldest first."""
    groups: dict[RateKind, list[Rate]] = {kind: [] for kind in RateKind}
    for rate in sorted(scheme.rates, key=lambda r: r.valid_from):
        groups[rate.kind].append(rate)
    return [(kind, rates) for kind, rates in groups.items() if rates]


def unconfirmed_rate_ids(session: Session, lines) -> frozenset[int]:
    """Of the rates the claim ``lines`` were computed with (``rate_id``,
    ``supplement_rate_id``), those marked "to be confirmed by the office"; one query."""
    ids = {i for line in lines for i in (line.rate_id, line.supplement_rate_id) if i is not None}
    if not ids:
        return frozenset()
    return frozenset(session.scalars(
        sa.select(Rate.id).where(Rate.id.in_(ids), Rate.to_be_confirmed.is_(True))))
