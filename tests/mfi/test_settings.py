"""Settings come from the environment; malformed values stop start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mfi.settings.environment import StrictEnv

ROOT = Path(__file__).resolve().parents[2]


def test_booleans_accept_the_usual_spellings():
    # given
    env = StrictEnv({"A": "yes", "B": "0", "C": "On"})
    # when / then
    assert (env.bool("A"), env.bool("B"), env.bool("C"), env.bool("MISSING", True)) == (
        True,
        False,
        True,
        True,
    )


def test_a_malformed_boolean_names_the_variable():
    # given
    env = StrictEnv({"DEBUG": "maybe"})
    # when / then
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        env.bool("DEBUG")


def test_database_url_is_parsed_into_a_postgresql_entry():
    # given
    env = StrictEnv({"DATABASE_URL": "postgres://mfi:s3cret@db.internal:6543/mfi_prod"})
    # when
    config = env.database("DATABASE_URL")
    # then
    assert (
        config["ENGINE"],
        config["NAME"],
        config["USER"],
        config["PASSWORD"],
        config["HOST"],
        config["PORT"],
    ) == ("django.db.backends.postgresql", "mfi_prod", "mfi", "s3cret", "db.internal", 6543)


@pytest.mark.parametrize(
    "value", ["sqlite:///db.sqlite3", "mysql://u@h/db", "not a url", "postgres://host:5432/"]
)
def test_a_database_url_that_is_not_postgresql_is_refused(value):
    # given
    env = StrictEnv({"DATABASE_URL": value})
    # when / then
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.database("DATABASE_URL")


def test_a_malformed_redis_url_names_the_variable():
    # given
    env = StrictEnv({"REDIS_URL": "localhost:6379"})
    # when / then
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL='localhost:6379' is not a Redis URL"):
        env.redis_url("REDIS_URL")


def test_an_unknown_time_zone_names_the_variable():
    # given
    env = StrictEnv({"TIME_ZONE": "Mars/Olympus"})
    # when / then
    with pytest.raises(ImproperlyConfigured, match="TIME_ZONE='Mars/Olympus'"):
        env.timezone("TIME_ZONE", "Atlantic/Cape_Verde")


def test_an_integer_setting_rejects_words():
    # given
    env = StrictEnv({"LOGIN_FAILURE_LIMIT": "five"})
    # when / then
    with pytest.raises(ImproperlyConfigured, match="LOGIN_FAILURE_LIMIT='five' is not an integer"):
        env.int("LOGIN_FAILURE_LIMIT", 5)


def test_defaults_are_cabo_verde_time_and_three_languages():
    # then
    assert settings.TIME_ZONE == "Atlantic/Cape_Verde"
    assert [code for code, _name in settings.LANGUAGES] == ["en", "pt", "fr"]


def test_the_database_is_postgresql():
    # then
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="DATABASE_URL is set: the embedded server is only used without it",
)
def test_without_database_url_the_embedded_server_under_var_is_used():
    # then: a Unix socket inside the project's git-ignored var/ directory
    assert settings.DATABASES["default"]["HOST"] == str(ROOT / "var" / "pgdata")


def test_manage_py_stops_with_a_message_naming_a_malformed_variable():
    # given
    environment = {**os.environ, "DEBUG": "perhaps", "DJANGO_SETTINGS_MODULE": "mfi.settings.base"}
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG='perhaps' is not a boolean" in result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    # given
    environment = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    environment["DJANGO_SETTINGS_MODULE"] = "mfi.settings.production"
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check():
    # given
    environment = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "mfi.settings.production",
        "SECRET_KEY": "k" * 30 + "-production-test-" + "z" * 30,
    }
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
