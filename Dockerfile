# The data-plane tool's image (tool/cli.ts): Node 20 and the PostgreSQL 16 client programs (pg_dump,
# pg_restore, psql), matching the flexible servers' major version — pg_dump refuses a server newer than itself.
#
# Build stage: bundle tool/ and naming.ts with esbuild (installed with tsx) into one CommonJS file, so the
# runtime image carries neither the Pulumi packages nor a TypeScript toolchain. pg-native is optional in pg and
# not used.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY naming.ts ./
COPY tool ./tool
# Some Azure SDK modules are ESM and read import.meta.url: defined from the script's own path in CJS.
RUN npx esbuild tool/cli.ts --bundle --platform=node --target=node20 --format=cjs \
      --external:pg-native --outfile=/out/dr-data.js \
      "--define:import.meta.url=__dr_data_import_meta_url" \
      "--banner:js=var __dr_data_import_meta_url = require('node:url').pathToFileURL(process.argv[1]).href;" \
 && node /out/dr-data.js --help >/dev/null

# Runtime: the official postgres:16 image (Debian bookworm) already holds the PostgreSQL 16 client from the
# PostgreSQL project's APT repository; Node 20 is one binary, copied from the official node image (its
# libraries, libstdc++ included, are in bookworm). tar is used for the directory format.
FROM postgres:16-bookworm
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /out/dr-data.js /opt/dr-data/dr-data.js
# psql-ptr / psql-live for the troubleshooting pod: psql with the PTR_PG* / LIVE_PG* credentials of its environment.
COPY tool/bin/psql-side /usr/local/bin/psql-side
RUN chmod 755 /usr/local/bin/psql-side \
 && ln -s psql-side /usr/local/bin/psql-ptr \
 && ln -s psql-side /usr/local/bin/psql-live
ENV PG_BINDIR=/usr/lib/postgresql/16/bin \
    NODE_ENV=production
# The image's server is never started: its entrypoint is replaced, and the tool runs as the unprivileged
# postgres user with /tmp (mount an emptyDir of at least the dump's size there for restores) as its work dir.
# Numeric (the postgres user, 999:999): the pods set runAsNonRoot, which the kubelet checks only on a number.
USER 999:999
WORKDIR /tmp
ENTRYPOINT ["node", "/opt/dr-data/dr-data.js"]
CMD ["--help"]
