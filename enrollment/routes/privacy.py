"""A participant's privacy pages: ask, from a manage link, for a copy of their data or for
erasure; and the mailed link that delivers the copy or files the request.

Thin views over ``enrollment.services.privacy_links``, ``enrollment.services.privacy`` and
``core.privacy``; staff confirm the requests in ``routes/staff_erasure.py``. A manage link only
asks: the system mails a one-time link to the person's address, and only that link delivers
the data of the whole person (every enrollment, claim, certificate and mail) or files the
request for all their enrollments, so holding a manage link without the address tells nothing.
The request's edge commits (``core.transaction``). None of these pages is cached
(``PRIVATE_ENDPOINTS``).
"""

from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import privacy as core_privacy
from core.db import get_session, utcnow
from core.limits import config_limit, limiter, view_arg_key
from core.routes import Routes
from core.web import no_store
from enrollment.forms.privacy import ErasureRequestForm, ExportRequestForm, PrivacyLinkForm
from enrollment.models import PrivacyPurpose
from enrollment.routes.manage import enrollment_or_404
from enrollment.services import privacy, privacy_links

routes = Routes()

PRIVATE_ENDPOINTS = frozenset({"download_personal_data", "ask_for_erasure",
                               "personal_data_link", "list_erasure_requests",
                               "confirm_erasure"})


@routes.after_request
def _privacy_pages_are_not_cached(response):
    if (request.endpoint or "").split(".")[-1] in PRIVATE_ENDPOINTS:
        no_store(response)
    return response


def retention():
    """The retention periods in force today, from the configuration."""
    return core_privacy.retention_from_config(current_app.config, core_privacy.today())


def _link_sent(token: str):
    flash(_("We have sent a link to the e-mail address of your enrollment. Open it within "
            "24 hours to go on."), "success")
    return redirect(url_for("enrollment.manage", token=token))


# --- asking, from a manage link -----------------------------------------------------------------


@routes.route("/manage/<token>/my-data", methods=["GET", "POST"])
@limiter.shared_limit(config_limit("PRIVACY_LINK_RATE_LIMIT"), scope="privacy_link",
                      methods=["POST"], key_func=view_arg_key("token"))
def download_personal_data(token: str):
    """What a copy of one's data holds, and the button that mails the link delivering it."""
    enrollment = enrollment_or_404(token)
    form = ExportRequestForm()
    if form.validate_on_submit():
        privacy_links.ask(get_session(), enrollment, PrivacyPurpose.EXPORT, utcnow())
        return _link_sent(token)
    if request.method == "POST":
        abort(400)
    return render_template("enrollment/export_request.html", enrollment=enrollment,
                           token=token, form=form)


@routes.route("/manage/<token>/erasure", methods=["GET", "POST"])
@limiter.shared_limit(config_limit("PRIVACY_LINK_RATE_LIMIT"), scope="privacy_link",
                      methods=["POST"], key_func=view_arg_key("token"))
def ask_for_erasure(token: str):
    """What erasure means, and the button that mails the link filing the request."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    form = ErasureRequestForm()
    if form.validate_on_submit():
        privacy_links.ask(session, enrollment, PrivacyPurpose.ERASURE, utcnow())
        return _link_sent(token)
    if request.method == "POST":
        abort(400)
    holds = core_privacy.holds_for(session, enrollment.participant_id, retention())
    return render_template("enrollment/erasure_request.html", enrollment=enrollment,
                           token=token, form=form, holds=holds,
                           pending=privacy.pending_request(session, enrollment.participant_id))


# --- the mailed link ---------------------------------------------------------------------------


def _link_or_404(token: str):
    link = privacy_links.find(get_session(), token, utcnow())
    if link is None:
        abort(404)
    return link


@routes.route("/personal-data/<token>", methods=["GET", "POST"])
def personal_data_link(token: str):
    """The link from the mail: GET asks (a mail scanner's visit changes nothing), the POST
    delivers the person's data as a JSON file, or sends their request for erasure."""
    session = get_session()
    link = _link_or_404(token)
    form = PrivacyLinkForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            abort(400)
        return render_template("enrollment/personal_data_link.html", link=link, form=form)
    purpose = link.purpose
    person = privacy_links.use(session, link, utcnow())
    if purpose == PrivacyPurpose.ERASURE:
        return render_template("enrollment/personal_data_link.html", link=None, form=None,
                               erasure_sent=True)
    document = core_privacy.export_person(session, person.id, utcnow())
    response = Response(json.dumps(document, ensure_ascii=False, indent=2),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="kursportal-data-{person.id}.json"')
    return response
