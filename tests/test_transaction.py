"""core.transaction: the request's edge commits; a domain error keeps nothing of its block and
shows its message; GET never writes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint, get_flashed_messages, redirect
from flask_wtf import FlaskForm
from wtforms import StringField

from core.db import get_session
from core.models import County
from core.transaction import DomainError, keep_when_refused, refusals


class SlugTaken(DomainError):
    code = "slug_taken"
    field = "slug"
    status = 400
    MESSAGES = {"slug_taken": "The slug %(slug)s is taken.", "closed": "The office is closed."}


class SlugForm(FlaskForm):
    slug = StringField()


def _rename(slug: str) -> None:
    """A 'service': changes and flushes, then refuses when asked for a taken slug."""
    session = get_session()
    county = session.scalars(sa.select(County).order_by(County.id)).first()
    county.email = f"{slug}@example.org"
    session.flush()
    if slug == "taken":
        raise SlugTaken(slug=slug)
    if slug == "closed":
        raise SlugTaken(code="closed")


@pytest.fixture
def edge_app(app):
    application = app
    bp = Blueprint("edge_test", __name__)

    @bp.post("/t/rename/<slug>")
    def rename(slug):
        form = SlugForm(meta={"csrf": False})
        with refusals(form) as refusal:
            _rename(slug)
            return redirect("/done", 303)
        return {"slug": form.slug.errors, "form": form.form_errors}, refusal.status

    @bp.post("/t/uncaught/<slug>")
    def uncaught(slug):
        _rename(slug)
        return "ok"

    @bp.post("/t/refused-but-kept")
    def refused_but_kept():
        _rename("kept")
        keep_when_refused()
        return "counted", 403

    @bp.post("/t/plain-400")
    def plain_400():
        _rename("discarded")
        return "bad", 400

    @bp.get("/t/get-writes")
    def get_writes():
        _rename("from-get")
        return "wrote"

    @bp.get("/t/flashes")
    def flashes():
        return {"messages": get_flashed_messages()}

    application.register_blueprint(bp)
    return application


def _emails(app) -> set[str]:
    with app.extensions["kp_engine"].connect() as conn:
        return set(conn.scalars(sa.select(County.email)))


def test_a_success_is_committed_at_the_edge(edge_app):
    response = edge_app.test_client().post("/t/rename/fine")
    assert response.status_code == 303
    assert "fine@example.org" in _emails(edge_app)


def test_a_refusal_keeps_nothing_of_its_block_and_puts_the_message_by_its_field(edge_app):
    before = _emails(edge_app)
    response = edge_app.test_client().post("/t/rename/taken")
    assert response.status_code == 400
    assert response.json == {"slug": ["The slug taken is taken."], "form": []}
    assert _emails(edge_app) == before


def test_an_uncaught_refusal_sends_the_person_back_with_its_message(edge_app):
    client = edge_app.test_client()
    before = _emails(edge_app)
    response = client.post("/t/uncaught/closed", headers={"Referer": "http://localhost/t/flashes"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/t/flashes")
    assert client.get("/t/flashes").json == {"messages": ["The office is closed."]}
    assert _emails(edge_app) == before


def test_a_4xx_answer_discards_its_changes_unless_they_record_the_refusal(edge_app):
    client = edge_app.test_client()
    assert client.post("/t/plain-400").status_code == 400
    assert "discarded@example.org" not in _emails(edge_app)
    assert client.post("/t/refused-but-kept").status_code == 403
    assert "kept@example.org" in _emails(edge_app)


def test_a_get_that_writes_is_an_error_and_nothing_is_kept(edge_app):
    with pytest.raises(RuntimeError, match="GET /t/get-writes wrote to the database"):
        edge_app.test_client().get("/t/get-writes")
    assert "from-get@example.org" not in _emails(edge_app)


def test_a_refusal_never_sends_the_person_to_another_site(edge_app):
    response = edge_app.test_client().post(
        "/t/uncaught/closed", headers={"Referer": "http://attacker.example/t/flashes"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_after_commit_work_runs_only_when_the_change_is_committed(app):
    from core.transaction import after_commit

    ran = []
    bp = Blueprint("after_commit_test", __name__)

    @bp.post("/t/after/<slug>")
    def change(slug):
        after_commit(lambda: ran.append(slug))
        with refusals() as refusal:
            _rename(slug)
            return "ok"
        return "refused", refusal.status

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.post("/t/after/fine").status_code == 200
    assert client.post("/t/after/taken").status_code == 400
    assert ran == ["fine"]
