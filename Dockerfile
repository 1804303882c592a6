# One small image for every role: `worker`, `run` (worker + chat adapters), `chat`.
# Redis is a separate service (docker-compose.yml); set FOLLOWAUDIT_REDIS_URL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scoring ./scoring
COPY bot ./bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin followaudit
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER followaudit
WORKDIR /home/followaudit
ENV PYTHONUNBUFFERED=1 \
    FOLLOWAUDIT_WORKER__METRICS_HOST=0.0.0.0 \
    FOLLOWAUDIT_WORKER__METRICS_PORT=9100
EXPOSE 9100
ENTRYPOINT ["followaudit"]
CMD ["worker"]
