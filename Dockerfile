# Written by notebooks/12_production.ipynb: edit there, or edit here and run `workshop sync`
# The app's image: `podman build -t fastapi-kit .` (or docker build). BASE is any image with
# Python 3.11+ as `python` (CI passes a local Debian one; see .ci/image-check).
ARG BASE=python:3.12-slim

# Stage 1: the app's dependencies in a virtual environment (no compiler or cache kept).
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
# The runtime dependencies only, read from pyproject.toml: no dev extras, no lesson tooling.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && python -m venv /venv \
    && /venv/bin/pip install -r requirements.txt

# Stage 2: the runtime image: the virtual environment, the app, and nobody's root.
FROM ${BASE}
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production MAIL_OUTBOX_DIR=/srv/data/outbox
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /srv/data && chown app /srv/data
COPY --from=build /venv /venv
WORKDIR /srv
COPY app/ app/
COPY alembic/ alembic/
COPY alembic.ini gunicorn.conf.py ./
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# The release step runs once per deploy, before the workers: `alembic upgrade head` (compose's
# `migrate` service). The workers never touch the schema.
CMD ["gunicorn", "app.main:app"]
