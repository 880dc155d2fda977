"""The staff pages for personal access tokens (``/staff/api-tokens``): one's own tokens, a form
to make one, the page that shows a new token once, and revoking one's own.

A new token's text is in the answer to the form's POST and nowhere else: not in a redirect,
the session, a flash message or the database (which holds its SHA-256 only), and the answer is
``no-store``, so neither the list, a reload nor the browser's cache shows it again.

County staff always get a token for their own office: the form has no office field for them,
so a forged ``county`` value is never read (and ``core.api.tokens.issue`` refuses another
office anyway). An administrator, who has no office, picks one.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from wtforms import DateField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from core.api import tokens
from core.audit import Subject, register_action, register_field, register_subject
from core.auth import has_control_characters, staff_required
from core.collation import collated
from core.db import get_session, utcnow
from core.forms import AppForm
from core.i18n import OSLO
from core.models import County
from core.staff import register_nav
from core.web import external_url, no_store

bp = Blueprint("api_tokens", __name__, url_prefix="/staff/api-tokens")

SCOPES = {"read": _l("Read only"), "read-write": _l("Read and write")}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class TokenForm(AppForm):
    """A new token: its name, what it may do, until when, and (administrators) for which
    office."""

    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(message=_l("Give the token a name.")),
        Length(max=100, message=_l("At most %(max)d characters."))])
    scope = RadioField(_l("What the token may do"), choices=list(SCOPES.items()),
                       default="read", validate_choice=False)
    expires_on = DateField(_l("Expires on"),
                           validators=[InputRequired(message=_l("Enter the date."))],
                           invalid_value_message=_l("Enter a date, like 2026-03-02."))
    county = SelectField(_l("County office"), validate_choice=False)

    def validate_scope(self, field):
        """One of the two scopes (a forged value gets a message in words, not WTForms')."""
        if field.data not in SCOPES:
            raise ValidationError(_l("Choose what the token may do."))

    def validate_county(self, field):
        """An office of the list (an administrator's choice; county staff have no field)."""
        if field.data not in {value for value, _label in field.choices if value}:
            raise ValidationError(_l("Choose the county office the token works for."))

    def validate_name(self, field):
        """Printable text only: the name is shown in the audit log."""
        if has_control_characters(field.data or ""):
            raise ValidationError(_l("The name may not contain control characters or other "
                                     "invisible characters."))


class RevokeForm(AppForm):
    """A button; the CSRF token is its only field."""


def _today():
    return utcnow().astimezone(OSLO).date()


def _county_choices(session: Session) -> list[tuple[str, str]]:
    counties = session.scalars(sa.select(County).order_by(collated(County.name_nb)))
    return [("", _("Choose an office"))] + [(str(c.id), c.name()) for c in counties]


def token_form(session: Session) -> TokenForm:
    """The form as the current user sees it: with the office to choose for an administrator,
    without it for county staff (their own is used)."""
    form = TokenForm()
    if current_user.is_admin:
        form.county.choices = _county_choices(session)
    else:
        del form.county
    first, last = tokens.expiry_range(_today())
    form.expires_on.render_kw = {"min": first.isoformat(), "max": last.isoformat()}
    if not form.is_submitted():
        form.expires_on.data = first + timedelta(days=tokens.DEFAULT_DAYS)
    return form


def _list_page(form: TokenForm, status: int = 200):
    session = get_session()
    first, last = tokens.expiry_range(_today())
    return render_template(
        "api/tokens.html", form=form, rows=tokens.tokens_of(session, current_user),
        revoke_form=RevokeForm(), scopes=SCOPES, now=utcnow(), first_day=first,
        last_day=last, max_days=tokens.MAX_DAYS), status


@bp.get("")
@staff_required
def list_tokens():
    """One's own tokens, and the form to make one."""
    return _list_page(token_form(get_session()))


@bp.post("")
@staff_required
def create_token():
    """Make a token and show it, this once."""
    session = get_session()
    form = token_form(session)
    if form.validate_on_submit():
        county_id = (int(form.county.data) if current_user.is_admin and form.county.data
                     else None)
        try:
            token, text = tokens.issue(
                session, current_user._get_current_object(), county_id=county_id,
                name=form.name.data, can_write=form.scope.data == "read-write",
                expires_on=form.expires_on.data, now=utcnow())
        except tokens.TokenRefused as refused:
            getattr(form, refused.field).errors.append(refused.message)
        else:
            return render_template("api/token_made.html", token=token, text=text,
                                   scopes=SCOPES, check_url=external_url("api.describe_token"))
    return _list_page(form, 400)


@bp.post("/<int:token_id>/revoke")
@staff_required
def revoke_token(token_id: int):
    """Revoke one of one's own tokens; anybody else's is not found."""
    if not RevokeForm().validate_on_submit():
        abort(400)
    session = get_session()
    token = tokens.own_token(session, current_user.id, token_id)
    if token is None:
        abort(404)
    if tokens.revoke(session, token, current_user._get_current_object(), utcnow()):
        flash(_("The token “%(name)s” is revoked: it no longer works.", name=token.name),
              "success")
    return redirect(url_for("api_tokens.list_tokens"))


@bp.after_request
def _personal(response):
    return no_store(response)


def token_names(session: Session, ids) -> dict[int, Subject]:
    """Tokens by their name, for the audit log."""
    return {row.id: Subject(row.name) for row in session.execute(
        sa.select(tokens.ApiToken.id, tokens.ApiToken.name)
        .where(tokens.ApiToken.id.in_(ids)))}


ACTIONS = {
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "api_token.use": _l("API token used to change data"),
}
FIELDS = {
    "scope": (_l("What the token may do"), SCOPES),
    "expires": (_l("Expires on"), None),
    "request": (_l("Request"), None),
    "status": (_l("Answer (HTTP status)"), None),
}


def init_app(app: Flask) -> None:
    """The pages, their place in the staff navigation, and the audit log's words for tokens."""
    app.register_blueprint(bp)
    register_nav(app, "api_tokens.list_tokens", _l("API tokens"))
    register_subject(app, "api_token", _l("API token"), token_names)
    for name, title in ACTIONS.items():
        register_action(app, name, title)
    for name, (title, values) in FIELDS.items():
        register_field(app, name, title, object_type="api_token", values=values)
