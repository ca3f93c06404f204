# modelgate: the webhook receiver and run workers in one image.
# Jobs (the repositories' code) run in bubblewrap sandboxes, which need user namespaces inside the
# container: run it with `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`
# (or a seccomp profile that allows unshare/clone with CLONE_NEWUSER), on a host where unprivileged
# user namespaces are enabled. `modelgate serve` checks this at start and refuses to run jobs
# otherwise. Where that is not possible, run jobs on other hosts (the Ray executor) instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MLFLOW_ENABLE_TELEMETRY=false \
    DO_NOT_TRACK=true \
    MODELGATE_HOST=0.0.0.0 \
    MODELGATE_PORT=3000 \
    MODELGATE_DATA_DIR=/data

RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap tini \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 modelgate && mkdir -p /data && chown modelgate /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY pipelines ./pipelines
COPY reports ./reports
COPY github_standin ./github_standin
RUN pip install .

USER modelgate
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"MODELGATE_PORT\"]}/healthz')"
# tini reaps what sandboxes leave to PID 1 (bubblewrap's own init is reparented when a job ends)
ENTRYPOINT ["tini", "--"]
CMD ["modelgate", "serve"]
