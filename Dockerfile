# One small image for every role: `worker`, `run` (worker + chat adapters), `chat`.
# Redis is a separate service (docker-compose.yml); set FOLLOWAUDIT_REDIS_URL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY scoring ./scoring
COPY bot ./bot
# The pinned versions the tests passed with; the webhook extra serves Telegram webhook mode.
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt '.[webhook]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin followaudit
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER followaudit
WORKDIR /home/followaudit
# Telegram webhook mode (FOLLOWAUDIT_TELEGRAM__MODE=webhook, with __WEBHOOK_URL and
# __WEBHOOK_SECRET, refused without them) listens on 8443 in the container.
ENV PYTHONUNBUFFERED=1 \
    FOLLOWAUDIT_WORKER__METRICS_HOST=0.0.0.0 \
    FOLLOWAUDIT_WORKER__METRICS_PORT=9100 \
    FOLLOWAUDIT_TELEGRAM__WEBHOOK_LISTEN=0.0.0.0
EXPOSE 9100 8443
# /healthz answers 200 while every part of the process runs (no curl in the slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9100/healthz', timeout=4)"]
ENTRYPOINT ["followaudit"]
CMD ["worker"]
