# syntax=docker/dockerfile:1
# The image of one service of the platform, chosen by build arguments; the build context is the repository root
# (it needs shared/ and constraints.txt):
#   docker build --build-arg SERVICE=projector --build-arg PORT=8001 \
#       --build-arg PORT_SETTING=INCIDENTS_PROJECTOR_HTTP_PORT -t incidents-projector .
# SERVICE is a directory of services/ (command-api, projector, escalator); PORT is the port it listens on and
# PORT_SETTING the variable that changes it (the health check follows it). docker-compose.yml builds all three.
# The command API's image also serves the console (/console/), /docs and /redoc: their browser assets are built
# by the `assets` stage (scripts/console-assets.sh: npm ci pinned by console/package-lock.json) and packaged in its
# wheel (package-data console/static/vendor/*); nothing is fetched from a CDN at run time (docs/decisions/0088).
ARG SERVICE=command-api

# --- assets: htmx, swagger-ui-dist and redoc for the console and the API docs, as `make run` builds them ------
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY console/package.json console/package-lock.json console/
COPY scripts/console-assets.sh scripts/
RUN bash scripts/console-assets.sh

# --- build: wheels for this service, the shared package and every pinned dependency ----------------
FROM python:3.11-slim AS build
ARG SERVICE
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY constraints.txt ./
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
# Into the command API's package (the only service that serves them; other services' builds do not wheel this path).
COPY --from=assets /src/services/command-api/src/command_api/console/static/vendor/ \
    services/command-api/src/command_api/console/static/vendor/
# Both local projects on one command line: pip uses ./shared to satisfy the "incidents-shared" requirement.
RUN pip wheel -c constraints.txt --wheel-dir /wheels ./shared "./services/${SERVICE}"

# --- runtime: the installed wheels only, no build tools, not root ------------------------------------
FROM python:3.11-slim
ARG SERVICE
ARG PORT=8000
ARG PORT_SETTING=INCIDENTS_API_PORT
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    INCIDENTS_HTTP_HOST=0.0.0.0 \
    INCIDENTS_LOG_FORMAT=json \
    SERVICE_PORT=${PORT} \
    SERVICE_PORT_SETTING=${PORT_SETTING}
# The wheels are bind-mounted from the build stage, so they never become a layer of this image. The service's
# console script is linked as incidents-service, so the ENTRYPOINT (exec form: the service gets the signals) does
# not depend on the build argument.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "incidents-${SERVICE}" \
    && ln -s "$(command -v "incidents-${SERVICE}")" /usr/local/bin/incidents-service \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin incidents
WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}
# No curl in the slim image: python's urllib; honours a changed port (the variable named by SERVICE_PORT_SETTING).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get(os.environ['SERVICE_PORT_SETTING'], os.environ['SERVICE_PORT']); urllib.request.urlopen('http://127.0.0.1:' + port + '/healthz', timeout=3)"]
ENTRYPOINT ["incidents-service"]
