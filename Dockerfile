# deportwatch: slim Python, non-root user, data on a volume, `deportwatch run`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY feeds ./feeds
COPY storage ./storage
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/deportwatch.db
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin deportwatch \
 && mkdir -p /data && chown deportwatch /data
USER deportwatch
WORKDIR /data
VOLUME ["/data"]
CMD ["deportwatch", "run"]
