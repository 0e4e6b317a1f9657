# syntax=docker/dockerfile:1
# Nastavnik's image. Build:  docker build -t nastavnik .
# Run one school (long polling, SQLite in the volume):
#   docker run -d --name nastavnik --env-file .env -v nastavnik-data:/app/data nastavnik
# A district (two instances, PostgreSQL, Redis, Caddy): deploy/compose.yaml.
# tests/test_deploy.py checks this file and runs what it runs, without Docker.

# --- build: a wheel of the project's own files, and wheels of everything it needs ---------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scheduler ./scheduler
COPY storage ./storage
COPY locales ./locales
RUN pip wheel --wheel-dir /wheels .

# --- runtime: the wheels installed, nothing fetched when the container runs ----------------------------------------
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    MPLCONFIGDIR=/tmp/matplotlib
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels nastavnik
# No login, no shell, no home of its own; it owns only the data folder (SQLite, its backups, the send journal).
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin nastavnik \
    && mkdir -p /app/data \
    && chown nastavnik:nastavnik /app/data
WORKDIR /app
VOLUME /app/data
USER nastavnik
# Webhook mode listens on WEBHOOK_PORT, long polling serves /healthz and /metrics on WEB_PORT: both 8080.
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["nastavnik", "healthcheck"]
ENTRYPOINT ["nastavnik"]
CMD ["run"]
