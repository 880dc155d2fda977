"""Extension points for the participant's manage page, the cancel confirmation page, the course
page, the staff participant list and the demo data.

Other plugins (certificates, refunds) add panels, cancel notices, participant-list links and
actions, and demo data at registration; enrollment never imports them. A panel is a callable
``(enrollment, token) -> Markup | None``. The registries live on the application, so an app
built with ``PLUGINS = ["enrollment"]`` alone shows none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from markupsafe import Markup
from sqlalchemy.orm import Session

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


# --- what cancelling would do, as other plugins see it --------------------------------------------

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


# --- the staff participant list, as other plugins add to it ---------------------------------------


@dataclass(frozen=True)
class RosterPart:
    """What a plugin adds to one offering's participant list: links beside "Add a participant"
    and the actions of each confirmed participant's row (``(enrollment) -> Markup``)."""

    links: Markup = Markup("")
    confirmed_actions: Callable[[object], Markup] | None = None


RosterHook = Callable[[object], RosterPart]

_ROSTER_KEY = "enrollment.roster_parts"


def register_roster_part(app: Flask, hook: RosterHook) -> None:
    """Let ``hook(offering)`` add to the participant list of ``offering``. It is called once per
    page, so it loads what every row needs at once: the list can hold hundreds of rows."""
    hooks = app.extensions.setdefault(_ROSTER_KEY, [])
    if hook not in hooks:
        hooks.append(hook)


def roster_parts(offering) -> list[RosterPart]:
    """What the plugins of the current application add to ``offering``'s participant list."""
    return [hook(offering) for hook in current_app.extensions.get(_ROSTER_KEY, [])]


# --- the demo data, as other plugins complete it --------------------------------------------------

# ``(session, offering, confirmed enrollments, when)``: called for a demo course that has
# ended, after its attendance was marked, with the moment the office wraps the course up (the
# day after its last day), so a plugin adds what it would hold by then (certificates).
DemoStep = Callable[[Session, object, list, datetime], None]

_DEMO_KEY = "enrollment.demo_steps"


def register_demo_step(app: Flask, step: DemoStep) -> None:
    """Run ``step`` for every ended demo course that ``flask seed-demo`` creates."""
    steps = app.extensions.setdefault(_DEMO_KEY, [])
    if step not in steps:
        steps.append(step)


def demo_steps() -> list[DemoStep]:
    """The demo steps registered on the current application."""
    return current_app.extensions.get(_DEMO_KEY, [])


# --- completion facts on cohort rosters, as other plugins know them ----------------------------


@dataclass(frozen=True)
class CompletionFact:
    """What a plugin knows of one enrollment beyond attendance: a certificate issued, with the
    staff page that shows it."""

    certificate_url: str


# ``(session, enrollment ids) -> {enrollment id: CompletionFact}``: called once per roster page
# with every enrollment the page shows, so it answers in one query.
CompletionFacts = Callable[[Session, list[int]], dict[int, CompletionFact]]

_FACTS_KEY = "enrollment.completion_facts"


def register_completion_facts(app: Flask, facts: CompletionFacts) -> None:
    """Let ``facts`` tell a roster's completion table which enrollments have a certificate."""
    app.extensions[_FACTS_KEY] = facts


def completion_facts(session: Session, enrollment_ids: list[int]) -> dict[int, CompletionFact]:
    """The facts the current application's plugins know of ``enrollment_ids`` (none without
    the certificates plugin)."""
    facts = current_app.extensions.get(_FACTS_KEY)
    if facts is None or not enrollment_ids:
        return {}
    return facts(session, enrollment_ids)


# --- the administrators' national overview, as other plugins add columns to it ----------------


@dataclass(frozen=True)
class OverviewCell:
    """One figure of a plugin's overview column: the text the page shows and the raw values
    the CSV holds (e.g. a count and an amount in øre)."""

    text: str
    values: tuple = ()


@dataclass(frozen=True)
class OverviewColumn:
    """A column a plugin adds to the national overview: its heading, the CSV headings of its
    values, and ``figures(session, county_ids, cohorts) -> {(county id, cohort): OverviewCell}``
    answered in a fixed number of queries."""

    title: object
    csv_titles: tuple
    figures: Callable[[Session, list[int], list], dict]
    empty: OverviewCell = OverviewCell("0")
    # ``total(cells) -> OverviewCell``: a region's figure from its counties' cells.
    total: Callable[[list[OverviewCell]], OverviewCell] | None = None


_OVERVIEW_KEY = "enrollment.overview_columns"


def register_overview_column(app: Flask, column: OverviewColumn) -> None:
    """Show ``column`` on the administrators' national overview of ``app``."""
    columns = app.extensions.setdefault(_OVERVIEW_KEY, [])
    if column not in columns:
        columns.append(column)


def overview_columns() -> list[OverviewColumn]:
    """The overview columns registered on the current application."""
    return current_app.extensions.get(_OVERVIEW_KEY, [])
