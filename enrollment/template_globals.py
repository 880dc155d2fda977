"""What enrollment's templates (and those of the plugins built on it) call: cohort labels,
roles in form order, and the sentence about who is refunded travel costs (which the public
API states too)."""

from __future__ import annotations

from babel.lists import format_list
from flask import Flask
from flask_babel import gettext as _

from core.i18n import current_locale
from enrollment.models import Role
from enrollment.panels import refund_rule
from enrollment.services import cohorts


def cohort_label(cohort) -> str:
    """Template access to the translated cohort label ('No cohort' for None)."""
    return cohorts.cohort_label(cohort)


def roles_in_order(roles) -> list[Role]:
    """Roles in the order the forms list them."""
    return [r for r in Role if r in roles]


def refunded_roles(offering) -> list[Role] | None:
    """Which of the roles that may enroll in ``offering`` are refunded travel costs, by the
    refund rule a plugin registered; None when no plugin takes claims."""
    rule = refund_rule()
    if rule is None:
        return None
    return [r for r in roles_in_order(offering.kind.role_set) if rule(offering, r)]


def refund_statement(offering) -> str | None:
    """Who of those who may enroll in ``offering`` is refunded travel costs, in a sentence
    (``refunded_roles``); None when no plugin takes claims."""
    refunded = refunded_roles(offering)
    if refunded is None:
        return None
    others = [r for r in roles_in_order(offering.kind.role_set) if r not in refunded]
    if not refunded:
        return _("Travel costs are not refunded for this course.")
    locale = current_locale()
    names = format_list([str(r.plural) for r in refunded], locale=locale)
    if not others:
        return _("Travel costs are refunded for %(roles)s.", roles=names)
    return _("Travel costs are refunded for %(roles)s, not for %(others)s.", roles=names,
             others=format_list([str(r.plural) for r in others], locale=locale))


def register(app: Flask) -> None:
    """Make the functions above global in every template of the app."""
    for function in (cohort_label, roles_in_order, refund_statement):
        app.add_template_global(function)
