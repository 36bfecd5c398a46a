# mlpserve: the service and the shipped models, nothing else (no training/, no tests, no dev tools).
# Build: docker build -t mlpserve .   Run: docker run -p 8000:8000 mlpserve
# Runs the way Kubernetes runs it (deploy/kubernetes/): any non-root uid, read-only root filesystem
# with a writable /tmp (gunicorn's worker heartbeat files, spooled uploads), no capabilities, PORT
# from the platform. Verified end to end by `make docker-check` (docker/check.sh).

# ---- build stage: the runtime dependencies in a virtualenv, from requirements.txt only ----------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} + \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet pip

# ---- runtime stage ----------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MLPSERVE_MODEL_DIR=/app/models \
    MLPSERVE_REQUIRED_MODELS=mnist,regression
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY service/ /app/service/
COPY models/ /app/models/
# A numeric, unprivileged user that owns nothing in the image: code and models are read-only to it.
USER 10001:10001
EXPOSE 8000
# Readiness, not liveness: healthy means every model loaded and passed its self-test (/ready), so a
# container whose models were refused, or one draining after SIGTERM, does not report healthy.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; h = os.environ.get('HOST', '0.0.0.0'); h = '127.0.0.1' if h in ('', '0.0.0.0', '::') else h; urllib.request.urlopen(f\"http://{h}:{os.environ.get('PORT', '8000')}/ready\", timeout=2)"]
CMD ["gunicorn", "-c", "service/gunicorn.conf.py", "service:create_app()"]
