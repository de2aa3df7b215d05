# The duban image: one image for the `web`, `worker` and `migrate` services of docker-compose.yml.
FROM python:3.11-slim

COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PYTHONUNBUFFERED=1 \
    DUBAN_DATA_DIR=/data

WORKDIR /app

# PDF reports (and their charts) need CJK glyphs: without them Chinese prints as boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY README.md alembic.ini ./
COPY duban ./duban
COPY policies ./policies
COPY workflows ./workflows
COPY activities ./activities
COPY actions ./actions
COPY web ./web
COPY cli ./cli
RUN uv sync --frozen --no-dev

ENV PATH="/app/.venv/bin:$PATH"
RUN useradd --system --uid 10001 --home-dir /data duban && mkdir -p /data && chown duban /data
USER duban
VOLUME ["/data"]
EXPOSE 8000

CMD ["duban", "web", "--host", "0.0.0.0", "--port", "8000"]
