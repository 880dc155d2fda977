"""Staff accounts (administrators only): invite a new staff member, deactivate and reactivate an
account, reset its second factor, and change the county it works for or its administrator
rights. Each change writes an audit event.

New accounts get no password anyone has seen; the person is e-mailed a one-time link to choose
their own. An administrator cannot deactivate or re-scope their own account.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import Flask, abort, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session, contains_eager
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from core import audit, staff_sessions, two_factor
from core.auth import (
    StaffUser,
    admin_required,
    create_staff,
    has_control_characters,
    make_reset_token,
)
from core.collation import collated
from core.db import get_session
from core.forms import AppForm
from core.mail import queue_mail
from core.models import County
from core.staff import bp, register_nav
from core.web import external_url

LANGUAGE_CHOICES = [("nn", "Nynorsk"), ("nb", "Bokmål"), ("en", "English")]


# --- staff accounts: the operations ------------------------------------------------------------


class OwnAccount(Exception):
    """An administrator tried to deactivate or re-scope their own account (and lock out)."""


def account_state(user: StaffUser, county: County | None = None) -> dict:
    """What the audit log keeps of an account's access."""
    county = county if county is not None else user.county
    return {"email": user.email, "name": user.name, "county": county.slug if county else None,
            "admin": user.is_admin, "active": user.active, "locale": user.locale}


def invite_staff(session: Session, *, actor: StaffUser, name: str, email: str,
                 county: County | None, is_admin: bool, locale: str) -> StaffUser:
    """Create an account with a random password nobody sees, and e-mail a set-password link."""
    user = create_staff(session, email=email, name=name, password=secrets.token_urlsafe(32),
                        county=county, is_admin=is_admin, locale=locale)
    audit.record(session, actor=actor, action="staff.create", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id, after=account_state(user, county))
    with force_locale(user.locale):
        link = external_url("staff.reset_password", token=make_reset_token(user))
        text = render_template("staff/mail/welcome.txt", user=user, link=link,
                               forgot_url=external_url("staff.forgot_password"))
        queue_mail(session, to=user.email, subject=_("Your Kursportal account"), text=text,
                   locale=user.locale)
    return user


def set_active(session: Session, user: StaffUser, active: bool, *, actor: StaffUser) -> bool:
    """Activate or deactivate ``user``; returns False when nothing changed."""
    if user.id == actor.id:
        raise OwnAccount()
    if user.active == active:
        return False
    user.active = active
    # Deactivation ends every session; reactivation too, so none from before comes back.
    staff_sessions.end_all(session, user.id, staff_sessions.EndReason.REACTIVATED if active
                           else staff_sessions.EndReason.DEACTIVATED)
    audit.record(session, actor=actor, action="staff.activate" if active else "staff.deactivate",
                 object_type="staff_user", object_id=user.id, county_id=user.county_id,
                 before={"active": not active}, after={"active": active})
    return True


def reset_second_factor(session: Session, user: StaffUser, *, actor: StaffUser) -> None:
    """Forget a colleague's second factor (a lost phone): they set it up again at their next
    login; their sessions end meanwhile."""
    if user.id == actor.id:
        raise OwnAccount()
    two_factor.reset(session, user, actor=actor)


def change_scope(session: Session, user: StaffUser, county: County | None, is_admin: bool, *,
                 actor: StaffUser) -> bool:
    """Move ``user`` to another county, or make them an administrator (no county) or not."""
    if user.id == actor.id:
        raise OwnAccount()
    if is_admin == (county is not None):
        raise ValueError("an administrator has no county; county staff need one")
    old_county_id = user.county_id
    before = {"county": user.county.slug if user.county else None, "admin": user.is_admin}
    after = {"county": county.slug if county else None, "admin": is_admin}
    if before == after:
        return False
    user.county, user.is_admin = county, is_admin
    # Filed under the county the person now works for; an administrator's under the old one.
    audit.record(session, actor=actor, action="staff.change_scope", object_type="staff_user",
                 object_id=user.id, county_id=county.id if county else old_county_id,
                 before=before, after=after)
    return True


# --- staff accounts: the forms and pages -------------------------------------------------------


class ConfirmForm(AppForm):
    """A button; the CSRF token is its only field."""


class ScopeForm(AppForm):
    """Where a staff member works: one county office, or all of them as administrator."""

    county = SelectField(_l("County governor office"))
    is_admin = BooleanField(_l("Administrator of all counties"))

    def validate_county(self, field):
        """County staff have exactly one office; an administrator has none."""
        if self.is_admin.data and field.data:
            raise ValidationError(_l("An administrator has no county office. Choose “None”."))
        if not self.is_admin.data and not field.data:
            raise ValidationError(_l("Choose the county office the person works for."))


class AccountForm(ScopeForm):
    """A new staff account."""

    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Enter the person's name.")), Length(max=200)])

    def validate_name(self, field):
        """Printable text only: no control, format or separator characters."""
        if has_control_characters(field.data):
            raise ValidationError(_l("The name may not contain control characters or other "
                                     "invisible characters."))
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(message=_l("Enter the e-mail address.")),
        Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    locale = SelectField(_l("Language of e-mails"), choices=LANGUAGE_CHOICES, default="nn")


def _county_choices(session: Session) -> list[tuple[str, str]]:
    counties = session.scalars(sa.select(County).order_by(collated(County.name_nb)))
    return [("", _("None (administrator)"))] + [(c.slug, c.name()) for c in counties]


def _county(session: Session, slug: str) -> County | None:
    return session.scalar(sa.select(County).where(County.slug == slug)) if slug else None


def _account_or_404(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/accounts")
@admin_required
def list_accounts():
    """Every staff account: administrators first, then by county office and name."""
    users = get_session().scalars(
        sa.select(StaffUser).outerjoin(StaffUser.county).options(contains_eager(StaffUser.county))
        .order_by(StaffUser.is_admin.desc(), collated(County.name_nb), collated(StaffUser.name),
                  StaffUser.id)
    ).all()
    return render_template("staff/accounts.html", users=users, form=ConfirmForm())


@bp.route("/accounts/new", methods=["GET", "POST"])
@admin_required
def create_account():
    """Create an account; the person gets an e-mail with a link to choose a password."""
    session = get_session()
    form = AccountForm()
    form.county.choices = _county_choices(session)
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)) is not None:
            form.email.errors.append(_("An account with this e-mail address exists already."))
        else:
            user = invite_staff(session, actor=current_user, name=form.name.data.strip(),
                                email=email, county=_county(session, form.county.data),
                                is_admin=form.is_admin.data, locale=form.locale.data)
            flash(_("The account for %(email)s is created. We have e-mailed a link to choose "
                    "a password.", email=user.email), "success")
            return redirect(url_for("staff.list_accounts"))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/accounts_new.html", form=form), status


def _set_active_view(user_id: int, active: bool):
    session = get_session()
    user = _account_or_404(session, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        changed = set_active(session, user, active, actor=current_user)
    except OwnAccount:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("staff.list_accounts"))
    if changed:
        message = (_("%(email)s can log in again.", email=user.email) if active
                   else _("%(email)s can no longer log in.", email=user.email))
        flash(message, "success")
    return redirect(url_for("staff.list_accounts"))


@bp.post("/accounts/<int:user_id>/deactivate")
@admin_required
def deactivate_account(user_id: int):
    """Stop an account from logging in; its sessions end at their next request."""
    return _set_active_view(user_id, False)


@bp.post("/accounts/<int:user_id>/activate")
@admin_required
def activate_account(user_id: int):
    """Let a deactivated account log in again."""
    return _set_active_view(user_id, True)


@bp.route("/accounts/<int:user_id>/two-factor/reset", methods=["GET", "POST"])
@admin_required
def reset_account_second_factor(user_id: int):
    """Ask, then reset a colleague's second factor; the reset is in the audit log."""
    session = get_session()
    user = _account_or_404(session, user_id)
    form = ConfirmForm()
    own = user.id == current_user.id
    if not own and form.validate_on_submit():
        reset_second_factor(session, user, actor=current_user)
        flash(_("The second factor of %(email)s is reset. They set it up again at their next "
                "login.", email=user.email), "success")
        return redirect(url_for("staff.list_accounts"))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/accounts_two_factor.html", form=form, user=user, own=own,
                           enrolled=two_factor.is_enrolled(user)), status


@bp.route("/accounts/<int:user_id>/scope", methods=["GET", "POST"])
@admin_required
def change_account_scope(user_id: int):
    """Move a staff member to another county office, or grant or take away administration."""
    session = get_session()
    user = _account_or_404(session, user_id)
    form = ScopeForm(data={"county": user.county.slug if user.county else "",
                           "is_admin": user.is_admin})
    form.county.choices = _county_choices(session)
    own = user.id == current_user.id
    if not own and form.validate_on_submit():
        if change_scope(session, user, _county(session, form.county.data), form.is_admin.data,
                        actor=current_user):
            flash(_("The access of %(email)s is changed.", email=user.email), "success")
        return redirect(url_for("staff.list_accounts"))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/accounts_scope.html", form=form, user=user, own=own), status


def init_app(app: Flask) -> None:
    """Add the accounts to the staff navigation, for administrators."""
    register_nav(app, "staff.list_accounts", _l("Accounts"), admin_only=True)

