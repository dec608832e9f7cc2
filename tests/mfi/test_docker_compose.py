"""The Dockerfile and docker-compose.yml name real entry points and wire the services together.

No Docker engine is needed: the files are parsed, and what they name (WSGI application, Celery app,
settings module, manage.py) is resolved in Python.
"""

import importlib
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.handlers.wsgi import WSGIHandler

import mfi
from mfi.settings.environment import StrictEnv

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _stages() -> dict[str, list[tuple[str, str]]]:
    """The instructions of each build stage, by stage name, in order."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, arguments in _dockerfile():
        if keyword == "FROM":
            current = []
            stages[arguments.split()[-1]] = current
        current.append((keyword, arguments))
    return stages


def _gunicorn_target(arguments: list[str]) -> str:
    return arguments[arguments.index("gunicorn") + 1]


def _web_shell_steps() -> list[str]:
    shell, flag, script = _compose()["services"]["web"]["command"]
    assert (shell, flag) == ("sh", "-c")
    return [step.strip() for step in script.split("&&")]


def test_compose_defines_exactly_the_five_services():
    # given
    compose = _compose()
    # when
    services = set(compose["services"])
    # then
    assert services == {"db", "redis", "web", "worker", "beat"}


def test_the_database_is_postgresql_16_or_newer():
    # given
    image = _compose()["services"]["db"]["image"]
    # when
    name, _, tag = image.partition(":")
    major = int(tag.split("-")[0].split(".")[0])
    # then
    assert (image, name) == ("postgres:16-alpine", "postgres")
    assert major >= 16


def test_web_worker_and_beat_are_one_image_built_from_the_project_root():
    # given
    services = _compose()["services"]
    # when
    builds = {name: (services[name]["build"], services[name]["image"]) for name in APP_SERVICES}
    # then
    assert builds == dict.fromkeys(APP_SERVICES, (".", "mfi-platform:local"))
    assert (ROOT / "Dockerfile").is_file()


def test_every_service_but_beat_has_an_active_health_check():
    # given
    services = _compose()["services"]
    # when
    probed = {
        name
        for name, service in services.items()
        if service.get("healthcheck", {}).get("test") and not service["healthcheck"].get("disable")
    }
    # then
    assert probed == {"db", "redis", "web", "worker"}
    # beat serves nothing: the image's /healthz check is switched off rather than left failing
    assert services["beat"]["healthcheck"] == {"disable": True}


def test_the_health_checks_probe_each_service_with_its_own_client():
    # given
    services = _compose()["services"]
    # when
    tests = {name: services[name]["healthcheck"]["test"] for name in ("db", "redis", "worker")}
    web_probe = services["web"]["healthcheck"]["test"]
    # then
    assert tests == {
        "db": ["CMD-SHELL", "pg_isready -U mfi -d mfi"],
        "redis": ["CMD", "redis-cli", "ping"],
        "worker": [
            "CMD-SHELL",
            "celery -A mfi inspect ping --destination celery@$$HOSTNAME --timeout 5",
        ],
    }
    assert web_probe[:3] == ["CMD", "python", "-c"]
    assert "'http://127.0.0.1:8000/healthz'" in web_probe[3]
    compile(web_probe[3], "<web healthcheck>", "exec")


def test_the_database_health_check_asks_for_the_user_and_database_compose_creates():
    # given
    db = _compose()["services"]["db"]
    # when
    probe = shlex.split(db["healthcheck"]["test"][1])
    # then
    assert probe[probe.index("-U") + 1] == db["environment"]["POSTGRES_USER"] == "mfi"
    assert probe[probe.index("-d") + 1] == db["environment"]["POSTGRES_DB"] == "mfi"


def test_web_waits_for_a_healthy_database_and_broker():
    # given
    web = _compose()["services"]["web"]
    # when
    depends_on = web["depends_on"]
    # then
    assert depends_on == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_web_migrates_then_serves_the_wsgi_application_that_resolves():
    # given
    migrate, serve = _web_shell_steps()
    target = _gunicorn_target(shlex.split(serve))
    module_name, attribute = target.split(":")
    # when
    application = getattr(importlib.import_module(module_name), attribute)
    # then
    assert migrate == "python manage.py migrate --noinput"
    assert serve == "exec gunicorn mfi.wsgi:application --bind 0.0.0.0:8000 --workers 3"
    assert target == "mfi.wsgi:application"
    assert isinstance(application, WSGIHandler)
    assert _compose()["services"]["web"]["ports"] == ["8000:8000"]


def test_the_manage_py_that_web_runs_exists():
    # given
    migrate, _ = _web_shell_steps()
    # when
    script = ROOT / shlex.split(migrate)[1]
    # then
    assert script == ROOT / "manage.py"
    assert script.is_file()


def test_worker_and_beat_run_celery_on_the_project_app():
    # given
    services = _compose()["services"]
    worker = shlex.split(services["worker"]["command"])
    beat = shlex.split(services["beat"]["command"])
    # when
    apps = {find_app(command[command.index("-A") + 1]) for command in (worker, beat)}
    # then
    assert worker == ["celery", "-A", "mfi", "worker", "--loglevel=INFO"]
    assert beat == [
        "celery",
        "-A",
        "mfi",
        "beat",
        "--loglevel=INFO",
        "--schedule",
        "/tmp/celerybeat-schedule",
    ]
    assert apps == {mfi.celery_app}
    assert isinstance(mfi.celery_app, Celery)
    assert mfi.celery_app.main == "mfi"


def test_app_services_share_one_production_environment():
    # given
    services = _compose()["services"]
    # when
    environments = [services[name]["environment"] for name in APP_SERVICES]
    # then
    assert environments[0] == environments[1] == environments[2]
    assert environments[0] == {
        "DJANGO_SETTINGS_MODULE": "mfi.settings.production",
        "DATABASE_URL": "postgres://mfi:mfi@db:5432/mfi",
        "REDIS_URL": "redis://redis:6379/0",
        "SECRET_KEY": "${SECRET_KEY:?set SECRET_KEY}",
        "ALLOWED_HOSTS": "${ALLOWED_HOSTS:-localhost,127.0.0.1}",
        "CSRF_TRUSTED_ORIGINS": "${CSRF_TRUSTED_ORIGINS:-}",
        "SECURE_SSL_REDIRECT": "false",
    }


def test_the_compose_settings_module_is_importable():
    # given
    module = _compose()["services"]["web"]["environment"]["DJANGO_SETTINGS_MODULE"]
    # when
    spec = importlib.util.find_spec(module)
    # then
    assert spec is not None
    assert Path(spec.origin) == ROOT / "mfi" / "settings" / "production.py"


def test_the_compose_urls_reach_the_compose_database_and_broker():
    # given
    compose = _compose()
    environment = StrictEnv(compose["services"]["web"]["environment"])
    db_environment = compose["services"]["db"]["environment"]
    # when
    database = environment.database("DATABASE_URL")
    broker = urlparse(environment.redis_url("REDIS_URL"))
    # then
    assert (
        database["HOST"],
        database["PORT"],
        database["NAME"],
        database["USER"],
        database["PASSWORD"],
    ) == (
        "db",
        5432,
        db_environment["POSTGRES_DB"],
        db_environment["POSTGRES_USER"],
        db_environment["POSTGRES_PASSWORD"],
    )
    assert (broker.hostname, broker.port) == ("redis", 6379)
    assert {database["HOST"], broker.hostname} <= set(compose["services"])
    assert environment.bool("SECURE_SSL_REDIRECT", default=True) is False


def test_uploads_and_database_files_live_in_named_volumes():
    # given
    compose = _compose()
    services = compose["services"]
    # when
    mounts = {name: services[name].get("volumes") for name in services}
    # then
    assert set(compose["volumes"]) == {"pgdata", "media"}
    assert mounts == {
        "db": ["pgdata:/var/lib/postgresql/data"],
        "redis": None,
        "web": ["media:/app/var/media"],
        "worker": ["media:/app/var/media"],
        "beat": None,
    }


def test_the_dockerfile_builds_assets_on_node_and_runs_on_python():
    # given
    instructions = _dockerfile()
    # when
    bases = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    # then
    assert bases == [
        "node:20-bookworm-slim AS assets",
        "python:3.11-slim-bookworm AS messages",
        "python:3.11-slim-bookworm AS app",
    ]


def test_the_dockerfile_serves_the_same_gunicorn_target_as_compose():
    # given
    commands = [arguments for keyword, arguments in _stages()["app"] if keyword == "CMD"]
    _, serve = _web_shell_steps()
    # when
    command = json.loads(commands[-1])
    # then
    assert command == [
        "gunicorn",
        "mfi.wsgi:application",
        "--bind",
        "0.0.0.0:8000",
        "--workers",
        "3",
    ]
    assert _gunicorn_target(command) == _gunicorn_target(shlex.split(serve))


def test_the_lock_file_is_copied_before_npm_ci():
    # given
    assets = _stages()["assets"]
    # when
    lock_copied = next(
        index
        for index, (keyword, arguments) in enumerate(assets)
        if keyword == "COPY" and "package-lock.json" in arguments.split()
    )
    npm_ci = next(
        index
        for index, (keyword, arguments) in enumerate(assets)
        if keyword == "RUN" and arguments.startswith("npm ci")
    )
    # then
    assert lock_copied < npm_ci
    assert assets[lock_copied] == ("COPY", "package.json package-lock.json ./")


def test_the_app_stage_takes_node_modules_from_the_assets_stage_before_collectstatic():
    # given
    app = _stages()["app"]
    # when
    workdirs = [arguments for keyword, arguments in app if keyword == "WORKDIR"]
    image_environment = dict(
        pair.split("=", 1)
        for keyword, arguments in app
        if keyword == "ENV"
        for pair in arguments.split()
    )
    copied = app.index(("COPY", "--from=assets /assets/node_modules ./node_modules"))
    collectstatic = next(
        index
        for index, (keyword, arguments) in enumerate(app)
        if keyword == "RUN" and "manage.py collectstatic --noinput" in arguments
    )
    # then
    assert workdirs == ["/app"]
    assert copied < collectstatic
    assert "DATABASE_URL=postgres://build@localhost/build" in app[collectstatic][1]
    assert image_environment["DJANGO_SETTINGS_MODULE"] == "mfi.settings.production"


def test_the_build_secret_key_satisfies_the_production_settings():
    # given
    arguments = [arguments for keyword, arguments in _stages()["app"] if keyword == "ARG"]
    name, _, key = arguments[0].partition("=")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mfi.settings.production",
        "SECRET_KEY": key,
        "DATABASE_URL": "postgres://build@localhost/build",
    }
    environment.pop("REDIS_URL", None)
    # when
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.STATIC_ROOT)"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert name == "BUILD_SECRET_KEY"
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / "staticfiles")


def test_the_image_runs_as_a_non_root_user_on_port_8000_with_a_health_check():
    # given
    app = _stages()["app"]
    # when
    users = [arguments for keyword, arguments in app if keyword == "USER"]
    exposed = [arguments for keyword, arguments in app if keyword == "EXPOSE"]
    healthcheck = next(arguments for keyword, arguments in app if keyword == "HEALTHCHECK")
    probe = json.loads(healthcheck.split(" CMD ", 1)[1])
    # then
    assert users == ["mfi"]
    assert exposed == ["8000"]
    assert probe[:2] == ["python", "-c"]
    assert "'http://127.0.0.1:8000/healthz'" in probe[2]
    compile(probe[2], "<image healthcheck>", "exec")


def test_the_image_installs_pango_for_weasyprint():
    # given
    app = _stages()["app"]
    # when
    apt_runs = [
        arguments
        for keyword, arguments in app
        if keyword == "RUN" and "apt-get install" in arguments
    ]
    # then
    assert len(apt_runs) == 1
    assert {"libpango-1.0-0", "libpangoft2-1.0-0"} <= set(apt_runs[0].split())
