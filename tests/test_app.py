"""The factory, configuration and the health check."""

import pytest
import sqlalchemy as sa

from app import create_app


def test_secret_key_is_generated_into_instance_once(tmp_path, database_url):
    config = {"DATABASE_URL": database_url, "SECRET_KEY": None,
              "INSTANCE_PATH": str(tmp_path / "instance")}
    first = create_app(config)
    second = create_app(config)
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text() == first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert key_file.stat().st_mode & 0o077 == 0


def test_refuses_development_key_in_production(database_url):
    with pytest.raises(RuntimeError, match="development SECRET_KEY"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "dev"})


def test_development_key_allowed_when_testing(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "dev", "TESTING": True})
    assert app.config["SECRET_KEY"] == "dev"


def test_enrollment_plugin_alone_runs(app_config):
    alone = create_app({**app_config, "PLUGINS": ["enrollment"]})
    assert "enrollment.show_catalog" in alone.view_functions
    assert not any(endpoint.startswith("refunds.") for endpoint in alone.view_functions)
    alone.extensions["kp_engine"].dispose()


def test_refunds_plugin_is_on_by_default(app):
    assert app.config["PLUGINS"] == ["enrollment", "refunds"]
    assert "refunds.show_queue" in app.view_functions


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite",
    })
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_pages_answer_503_with_friendly_page_when_database_unreachable(tmp_path):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "x", "PROPAGATE_EXCEPTIONS": False,
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite",
    })
    response = app.test_client().get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "temporarily unavailable" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite pragmas only")
    with app.extensions["kp_engine"].connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_counties_load_is_idempotent(runner, db):
    from core.models import County

    result = runner.invoke(args=["counties", "load"])
    assert "0 added, 0 updated" in result.output
    names = set(db.scalars(sa.select(County.name_nn)))
    assert len(names) == 10
    assert {"Vestland", "Møre og Romsdal", "Østfold, Buskerud, Oslo og Akershus"} <= names


def test_seed_demo_is_idempotent_and_covers_every_kind(runner, db):
    from enrollment.models import CourseKind, CourseOffering

    first = runner.invoke(args=["seed-demo"])
    assert "10 offerings created" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "0 offerings created" in second.output
    offerings = list(db.scalars(sa.select(CourseOffering)))
    assert all(o.is_demo for o in offerings)
    assert {o.kind_id for o in offerings} == set(db.scalars(sa.select(CourseKind.id)))
    assert len({o.county_id for o in offerings}) >= 3
    coming_year = max(o.cohort.year for o in offerings if o.cohort)
    # LIS1 spring and autumn starts, and the interns' turnus year from August.
    assert {o.cohort.month for o in offerings
            if o.cohort and o.cohort.year == coming_year} == {3, 8, 9}
    assert any(o.is_full for o in offerings)
    assert any(len(o.sessions) == 6 for o in offerings)
    assert any(len(o.sessions) > 1 for o in offerings)
