# syntax=docker/dockerfile:1
# check=skip=SecretsUsedInArgOrEnv

# The MFI platform image: gunicorn serving Django (static files through WhiteNoise); the same image
# runs the Celery worker and beat (see docker-compose.yml).
#
#   docker build -t mfi-platform .
#   docker run -e SECRET_KEY=... -e DATABASE_URL=postgres://... -e REDIS_URL=redis://... mfi-platform

# --- Stage 1: front-end assets (bootstrap, bootstrap-icons, htmx) exactly as package-lock.json pins --
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# --- Stage 2: translations compiled to .mo (gettext stays out of the runtime image) ---------------
FROM python:3.11-slim-bookworm AS messages
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same msgfmt call as `manage.py compilemessages`; `+` makes a bad catalogue fail the build.
RUN mkdir -p locale \
    && find locale -name '*.po' -exec sh -c \
        'for po; do msgfmt --check-format -o "${po%.po}.mo" "$po" || exit 1; done' _ {} +

# --- Stage 3: the application ---------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=mfi.settings.production

# WeasyPrint renders PDFs through Pango.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 mfi \
    && useradd --system --uid 1000 --gid mfi --home-dir /app --no-create-home mfi

WORKDIR /app

# Dependencies first, so a source change does not reinstall them: the project packages no code
# (`[tool.setuptools] packages = []`), so pyproject.toml and README.md are all `pip install .` reads.
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# The application runs from its source in /app.
COPY . .
COPY --from=assets /assets/node_modules ./node_modules
COPY --from=messages /src/locale ./locale

# Throwaway values: production settings refuse to load without a 50+ character SECRET_KEY and only
# parse DATABASE_URL; collectstatic connects to nothing. Neither is kept in the image's environment.
ARG BUILD_SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time-0123456789abcdef
RUN SECRET_KEY="$BUILD_SECRET_KEY" \
    DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput \
    && mkdir -p var/media \
    && chown -R mfi:mfi var

USER mfi

EXPOSE 8000

# X-Forwarded-Proto: https keeps SECURE_SSL_REDIRECT (on by default) from answering 301 to the probe.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'X-Forwarded-Proto': 'https'}), timeout=8)"]

CMD ["gunicorn", "mfi.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
