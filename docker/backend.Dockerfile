# syntax=docker/dockerfile:1
# The HTTP service Label Studio talks to. Slim: no TensorFlow (the backend never imports it).
# Build from the repository root:  docker build -f docker/backend.Dockerfile -t siamese-assist-backend .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=9090 \
    WORKERS=1 \
    THREADS=8

WORKDIR /app
COPY docker/requirements-backend.txt /tmp/requirements-backend.txt
RUN pip install -r /tmp/requirements-backend.txt && rm /tmp/requirements-backend.txt

COPY common/ /app/common/
COPY backend/ /app/backend/

RUN useradd --create-home --uid 1000 assist && mkdir -p /data/models && chown -R assist /data
USER assist

EXPOSE 9090
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=2)"

# gthread: every request waiting for an interactive job holds a thread, not a process.
CMD exec gunicorn --bind ":${PORT}" --workers "${WORKERS}" --threads "${THREADS}" --worker-class gthread \
    --timeout 130 --graceful-timeout 10 --access-logfile - "backend.wsgi:create_app_from_env()"
