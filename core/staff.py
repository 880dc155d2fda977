"""Staff login, logout and password reset; the staff navigation that plugins add to and the
staff home they may register; and the ``flask staff create`` command."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from core import audit, staff_sessions, throttle, two_factor
from core.auth import (
    MIN_PASSWORD_LENGTH,
    StaffUser,
    create_staff,
    make_reset_token,
    user_from_reset_token,
)
from core.db import get_session
from core.forms import AppForm
from core.jobs import queue_job, register_job
from core.limits import config_limit, limiter
from core.mail import queue_mail
from core.models import County
from core.web import external_url, no_store

bp = Blueprint("staff", __name__, url_prefix="/staff")
staff_cli = AppGroup("staff", help="Staff accounts.")

NAV_KEY = "staff.nav"
HOME_KEY = "staff.home"
# With no plugin's staff home, staff land on their own sessions page, a page core always has.
CORE_STAFF_HOME = "staff.my_sessions"


def register_nav(app: Flask, endpoint: str, label, *, admin_only: bool = False) -> None:
    """Add a link to the staff navigation (plugins call this from ``init_app``)."""
    app.extensions.setdefault(NAV_KEY, []).append((endpoint, label, admin_only))


def register_staff_home(app: Flask, endpoint: str) -> None:
    """Make ``endpoint`` the staff home: where staff land after signing in (a plugin calls this
    from ``init_app``; the first one registered wins)."""
    app.extensions.setdefault(HOME_KEY, endpoint)


def staff_home_url() -> str:
    """Where staff land after signing in: ``STAFF_HOME`` when it is set, else the page a plugin
    registered (enrollment's dashboard), else core's own sessions page."""
    configured = current_app.config.get("STAFF_HOME")
    if configured:
        return configured
    return url_for(current_app.extensions.get(HOME_KEY, CORE_STAFF_HOME))


def staff_nav() -> list[tuple[str, object]]:
    """The navigation links the current user may see."""
    items = current_app.extensions.get(NAV_KEY, [])
    return [(e, label) for e, label, admin in items
            if current_user.is_authenticated and (current_user.is_admin or not admin)]


class LoginForm(AppForm):
    """E-mail and password."""

    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(message=_l("Enter your e-mail address.")), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(message=_l("Enter your password.")),
                                         Length(max=500)],
                             render_kw={"autocomplete": "current-password"})


class ForgotForm(AppForm):
    """Ask for a password-reset link."""

    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(message=_l("Enter your e-mail address.")), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )


class ResetForm(AppForm):
    """Choose a new password."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=_l("Enter a new password.")),
                    Length(min=MIN_PASSWORD_LENGTH, max=500,
                           message=_l("Use at least 12 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[EqualTo("password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(config_limit("LINK_RATE_LIMIT"), methods=["POST"])
def forgot_password():
    """E-mail a one-time reset link; the same answer, the same work and so the same time
    whether the e-mail is known or not: the request only records a job, which the outbox sender
    runs (``send_reset_link``)."""
    form = ForgotForm()
    if form.validate_on_submit():
        session = get_session()
        queue_job(session, RESET_JOB, {"email": form.email.data.strip().lower()})
        flash(_("If the address belongs to an account, we have sent a link to reset the "
                "password. The link works for one hour."), "success")
        return redirect(url_for("staff.login"))
    return render_template("staff/forgot.html", form=form), 400 if form.errors else 200


RESET_JOB = "staff.password_reset"


def send_reset_link(session, payload: dict) -> None:
    """The forgot-password job: queue a reset link, in the staff member's own language, if the
    address belongs to an active account; nothing otherwise."""
    email = payload.get("email") or ""
    # PostgreSQL refuses NUL in text; an address with one belongs to nobody.
    user = None if "\x00" in email else session.scalar(sa.select(StaffUser).where(
        StaffUser.email == email, StaffUser.active))
    if user is None:
        return
    with force_locale(user.locale):
        link = external_url("staff.reset_password", token=make_reset_token(user))
        text = render_template("staff/mail/reset.txt", user=user, link=link)
        queue_mail(session, to=user.email, subject=_("Reset your Kursportal password"),
                   text=text, locale=user.locale, about=("staff_user", user.id))


def set_new_password(session, user: StaffUser, password: str) -> None:
    """Give ``user`` a new password from a reset link. Whoever knew the old password is logged
    out everywhere, and the real person is never kept out by someone else's wrong guesses: the
    account's sign-in delay is cleared. Audited; flushes, never commits."""
    user.set_password(password)
    ended = staff_sessions.end_all(session, user.id, staff_sessions.EndReason.PASSWORD)
    throttle.clear(session, throttle.account_key(user.email))
    audit.record(session, actor=user, action="staff.password_reset", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id,
                 after={"sessions_ended": ended} if ended else None)
    session.flush()


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from an e-mailed link; the link works once and for an hour."""
    session = get_session()
    user = user_from_reset_token(session, token)
    if user is None:
        flash(_("The link has expired or has been used. Ask for a new one."), "error")
        return redirect(url_for("staff.forgot_password"))
    form = ResetForm()
    if form.validate_on_submit():
        set_new_password(session, user, form.password.data)
        flash(_("Your password is changed. You can log in now."), "success")
        return redirect(url_for("staff.login"))
    return no_store(current_app.make_response(
        (render_template("staff/reset.html", form=form), 400 if form.errors else 200)))


@bp.after_request
def _staff_pages_are_personal(response):
    return no_store(response)


@staff_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--county", "county_slug", default=None, help="Slug of the county office.")
@click.option("--admin", is_flag=True, help="An administrator of all counties.")
@click.option("--locale", default="nn", type=click.Choice(["nn", "nb", "en"]))
@click.password_option(envvar="KURSPORTAL_STAFF_PASSWORD")
def create_command(email, name, county_slug, admin, locale, password):
    """Create a staff account (the password is asked for, or read from the environment)."""
    session = get_session()
    county = None
    if county_slug:
        county = session.scalar(sa.select(County).where(County.slug == county_slug))
        if county is None:
            raise click.BadParameter(f"no county with slug {county_slug!r}", param_hint="--county")
    if session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower())):
        raise click.ClickException(f"an account with {email} exists already")
    try:
        user = create_staff(session, email=email, name=name, password=password, county=county,
                            is_admin=admin, locale=locale)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(session, actor=None, action="staff.create", object_type="staff_user",
                 object_id=user.id, county_id=user.county_id,
                 after={"email": user.email, "admin": admin, "county": county_slug})
    session.commit()
    click.echo(f"Created {'administrator' if admin else 'staff member'} {user.email}.")
    click.echo("The account sets up its second factor (an authenticator app) at first login.")


@staff_cli.command("reset-two-factor")
@click.option("--email", required=True)
def reset_two_factor_command(email):
    """Forget an account's second factor (a lost phone and no recovery codes left); the person
    sets it up again at their next login. Their sessions end."""
    session = get_session()
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account with {email}")
    two_factor.reset(session, user, actor=None)
    session.commit()
    click.echo(f"The second factor of {user.email} is reset.")


def init_app(app: Flask) -> None:
    """Register the blueprint, the command and the template helpers."""
    app.register_blueprint(bp)
    register_job(app, RESET_JOB, send_reset_link)
    app.cli.add_command(staff_cli)
    app.jinja_env.globals.update(staff_nav=staff_nav, staff_home_url=staff_home_url)
