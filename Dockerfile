# The code location's image: `dagster api grpc` serves investor_mimic.definitions to the
# Dagster webserver and daemon of a deployment (e.g. the dagster-user-deployments part of
# Dagster's Helm chart). The same image runs the one-off commands of a deploy:
#   docker run --rm --env-file prod.env --entrypoint investor-mimic IMAGE db upgrade
# Settings come from the environment only (deploy/<env>/env.example); no secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    IM_DATA_DIR=/opt/dagster/data

RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster \
       --shell /usr/sbin/nologin dagster

WORKDIR /app
# Dependencies first (a layer reused while only the code changes), then the code.
# The package reads dbt_like_sql/ and dagster.yaml beside itself, so the source tree is
# installed in place (editable) rather than as a wheel into site-packages.
COPY pyproject.toml setup.py README.md ./
RUN mkdir investor_mimic && touch investor_mimic/__init__.py \
    && pip install . && pip uninstall -y investor-mimic && rm -rf investor_mimic build
COPY investor_mimic ./investor_mimic
COPY dbt_like_sql ./dbt_like_sql
COPY dagster.yaml workspace.yaml ./
# deploy/<environment>/dagster.yaml: the instance of staging and production
COPY deploy ./deploy
RUN pip install --no-deps -e . \
    && mkdir -p "$DAGSTER_HOME" "$IM_DATA_DIR" \
    && chown -R dagster:dagster /opt/dagster

USER dagster:dagster
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s \
    CMD ["dagster", "api", "grpc-health-check", "--port", "4000"]
ENTRYPOINT ["dagster", "api", "grpc", "--module-name", "investor_mimic.definitions", \
            "--host", "0.0.0.0", "--port", "4000"]
