# dbferry in a container: Node.js LTS, the PostgreSQL client tools of every supported major
# (pg_dump must be at least the source's major), the MariaDB client; runs as a non-root user.
#   docker build -t dbferry .
#   docker run --rm -v "$PWD:/work" -e SOURCE_PASSWORD -e TARGET_PASSWORD dbferry plan migration.yaml
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY schemas ./schemas
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm run build \
 && npm prune --omit=dev

FROM node:22-bookworm-slim
# PostgreSQL's own apt repository carries the client tools of every major (Debian's only 15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-13 postgresql-client-14 postgresql-client-15 postgresql-client-16 postgresql-client-17 postgresql-client-18 mariadb-client \
 && apt-get purge -y curl gnupg \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/schemas ./schemas
COPY package.json ./
RUN useradd --create-home --uid 10001 dbferry
USER dbferry
WORKDIR /work
ENTRYPOINT ["node", "/app/bin/dbferry.js"]
CMD ["--help"]
