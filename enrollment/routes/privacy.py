"""A participant's privacy pages on their manage link: download their data, ask for erasure.

Thin views over ``enrollment.services.privacy`` and ``core.privacy``; staff confirm the
requests in ``routes/staff_erasure.py``. None of these pages is cached (``PRIVATE_ENDPOINTS``).
"""

from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import privacy as core_privacy
from core.db import get_session, utcnow
from core.routes import Routes
from core.web import no_store
from enrollment.forms.privacy import ErasureRequestForm
from enrollment.routes.manage import enrollment_or_404
from enrollment.services import privacy

routes = Routes()

PRIVATE_ENDPOINTS = frozenset({"download_personal_data", "ask_for_erasure",
                               "list_erasure_requests", "confirm_erasure"})


@routes.after_request
def _privacy_pages_are_not_cached(response):
    if (request.endpoint or "").split(".")[-1] in PRIVATE_ENDPOINTS:
        no_store(response)
    return response


def retention():
    """The retention periods in force today, from the configuration."""
    return core_privacy.retention_from_config(current_app.config, core_privacy.today())


# --- the participant ---------------------------------------------------------------------------


@routes.get("/manage/<token>/my-data.json")
def download_personal_data(token: str):
    """Everything held about the participant of this enrollment, as a JSON file."""
    enrollment = enrollment_or_404(token)
    document = core_privacy.export_person(get_session(), enrollment.participant_id, utcnow())
    response = Response(json.dumps(document, ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="kursportal-data-{enrollment.id}.json"')
    return response


@routes.route("/manage/<token>/erasure", methods=["GET", "POST"])
def ask_for_erasure(token: str):
    """What erasure means, and the button that asks the county governor for it."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    form = ErasureRequestForm()
    if form.validate_on_submit():
        privacy.request_erasure(session, enrollment, utcnow())
        session.commit()
        flash(_("Your request for erasure is sent. The county governor will confirm it."),
              "success")
        return redirect(url_for("enrollment.manage", token=token))
    if request.method == "POST":
        abort(400)
    holds = core_privacy.holds_for(session, enrollment.participant_id, retention())
    return render_template("enrollment/erasure_request.html", enrollment=enrollment,
                           token=token, form=form, holds=holds,
                           pending=privacy.pending_request(session, enrollment.participant_id))


