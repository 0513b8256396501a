# ledgerbot: the bot, the scheduler and the outbox dispatcher in one process.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LEDGERBOT_DATABASE_URL=sqlite:////data/ledgerbot.db \
    LEDGERBOT_EVIDENCE_DIR=/data/evidence

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY ledger ./ledger
COPY jobs ./jobs
COPY bot ./bot
COPY cli ./cli
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --home-dir /data --create-home ledgerbot \
    && chmod 700 /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8443
ENTRYPOINT ["ledgerbot"]
CMD ["run"]
