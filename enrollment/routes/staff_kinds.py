"""Administrators' pages for the course kinds and the learning objectives of each."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from core.auth import admin_required
from core.db import get_session
from core.routes import Routes
from core.transaction import refusals
from enrollment.forms.offerings import ObjectivesForm
from enrollment.models import CourseKind
from enrollment.routes.staff_offerings import actor, render_form
from enrollment.services import objectives

routes = Routes()


@routes.get("/staff/kinds")
@admin_required
def list_kinds():
    """The course kinds with their learning objectives."""
    kinds = get_session().scalars(
        sa.select(CourseKind).options(selectinload(CourseKind.objectives))
        .order_by(CourseKind.position)
    ).all()
    return render_template("enrollment/staff/kinds.html", kinds=kinds)


def _kind_or_404(kind_id: int) -> CourseKind:
    kind = get_session().scalar(sa.select(CourseKind).where(CourseKind.id == kind_id)
                                .options(selectinload(CourseKind.objectives)))
    if kind is None:
        abort(404)
    return kind


@routes.route("/staff/kinds/<int:kind_id>/objectives", methods=["GET", "POST"])
@admin_required
def edit_objectives(kind_id: int):
    """Edit, add and remove the learning objectives of a course kind."""
    session = get_session()
    kind = _kind_or_404(kind_id)
    rows = [{"objective_id": str(o.id), "code": o.code, "text_nn": o.text_nn,
             "text_nb": o.text_nb, "text_en": o.text_en, "official_number": o.official_number,
             "source_url": o.source_url, "version_date": o.version_date,
             "confirmed": o.confirmed, "nn_translated": "nn" in o.translated_locales,
             "en_translated": "en" in o.translated_locales} for o in kind.objectives]
    form = ObjectivesForm(data={"objectives": rows},
                          known_ids=frozenset(str(o.id) for o in kind.objectives))
    if form.validate_on_submit():
        changed = [objectives.ObjectiveValues(
            id=int(e.objective_id.data) if e.objective_id.data else None, **e.values())
            for e in form.kept_entries()]
        removed = [int(e.form.objective_id.data) for e in form.objectives
                   if e.form.remove.data and e.form.objective_id.data in form.known_ids]
        with refusals(form) as refusal:  # changed meanwhile: "reload the page"
            objectives.update_objectives(session, kind, changed, removed, actor())
        if not refusal:
            flash(_("The learning objectives are saved."), "success")
            return redirect(url_for("enrollment.edit_objectives", kind_id=kind_id))
    return render_form("enrollment/staff/objectives.html", form, kind=kind)
