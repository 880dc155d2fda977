"""The factory, configuration and the health check."""

import pytest
import sqlalchemy as sa

from app import create_app

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database


def test_secret_key_is_generated_into_instance_once(tmp_path, database_url):
    config = {"DATABASE_URL": database_url, "SECRET_KEY": None,
              "INSTANCE_PATH": str(tmp_path / "instance"),
              "PUBLIC_BASE_URL": "https://kurs.example.no"}
    first = create_app(config)
    second = create_app(config)
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text() == first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(bytes.fromhex(first.config["SECRET_KEY"])) == 32
    assert key_file.stat().st_mode & 0o077 == 0


def test_refuses_development_key_in_production(database_url):
    with pytest.raises(RuntimeError, match="development SECRET_KEY"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "dev"})


@pytest.mark.parametrize("key", ["x", "k" * 31, "æ" * 15])
def test_refuses_a_secret_key_shorter_than_32_bytes_in_production(database_url, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY is .* bytes long; at least 32"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": key,
                    "PUBLIC_BASE_URL": "https://kurs.example.no"})


def test_a_32_byte_secret_key_starts_in_production(database_url):
    # "æ" is two bytes in UTF-8: 16 of them are 32 bytes.
    for key in ("k" * 32, "æ" * 16):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": key,
                          "PUBLIC_BASE_URL": "https://kurs.example.no"})
        assert app.config["SECRET_KEY"] == key
        app.extensions["kp_engine"].dispose()


def test_short_secret_key_allowed_in_debug_and_testing(database_url):
    for flag in ("DEBUG", "TESTING"):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x", flag: True})
        assert app.config["SECRET_KEY"] == "x"
        app.extensions["kp_engine"].dispose()


def test_refuses_to_start_in_production_without_public_base_url(database_url):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL is not set"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k" * 32})


@pytest.mark.parametrize("base", [
    "kurs.example.no", "/kurs", "ftp://kurs.example.no", "https://", "https://kurs.example.no/?a=1",
    "https://kurs.example.no/#top", "https://user:pw@kurs.example.no",
])
def test_refuses_a_public_base_url_that_is_not_an_absolute_http_address(database_url, base):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL must be an absolute http"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k" * 32,
                    "PUBLIC_BASE_URL": base})


def test_trusted_hosts_come_from_public_base_url_and_the_extra_list(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k" * 32,
                      "PUBLIC_BASE_URL": "https://Kurs.Example.no:8443/portal/",
                      "EXTRA_TRUSTED_HOSTS": "10.0.0.11, localhost"})
    assert app.config["TRUSTED_HOSTS"] == ["kurs.example.no", "10.0.0.11", "localhost"]
    client = app.test_client()
    assert client.get("/healthz", base_url="http://10.0.0.11:8000").status_code == 200
    assert client.get("/healthz", base_url="https://kurs.example.no:8443").status_code == 200
    assert client.get("/healthz", base_url="http://10.0.0.12:8000").status_code == 400
    app.extensions["kp_engine"].dispose()


def test_testing_leaves_trusted_hosts_unset(app_config):
    app = create_app({**app_config, "PUBLIC_BASE_URL": "https://kurs.example.no"})
    assert app.config["TRUSTED_HOSTS"] is None
    app.extensions["kp_engine"].dispose()


def test_development_key_allowed_when_testing(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "dev", "TESTING": True})
    assert app.config["SECRET_KEY"] == "dev"


def test_enrollment_plugin_alone_runs(app_config):
    # In-process, refunds is already imported here: tests/test_plugins.py checks in a fresh
    # interpreter that enrollment alone never loads it.
    alone = create_app({**app_config, "PLUGINS": ["enrollment"]})
    assert "enrollment.show_catalog" in alone.view_functions
    assert not any(endpoint.startswith(("refunds.", "certificates."))
                   for endpoint in alone.view_functions)
    alone.extensions["kp_engine"].dispose()


def test_certificates_and_refunds_plugins_are_on_by_default(app):
    assert app.config["PLUGINS"] == ["enrollment", "certificates", "refunds"]
    assert "refunds.show_queue" in app.view_functions
    assert "certificates.verify_certificate" in app.view_functions


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
