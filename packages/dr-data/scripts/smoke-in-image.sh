#!/usr/bin/env bash
# Runs the image's smoke test INSIDE the image (release-image.yml): the bundled testkit/image-smoke.ts at
# /opt/dr-data/image-smoke.js, with the image's own node, tool and PostgreSQL client programs, against the job's
# PostgreSQL service container (127.0.0.1:5432) and an Azurite started here (127.0.0.1:10000).
#
#   IMAGE=<ref> SMOKE_CLIENT_MAJOR=18 SMOKE_SERVER_MAJORS="16" \
#   AZURITE_IMAGE=<ref> AZURITE_CONNECTION_STRING=<…> SMOKE_PASSWORD=<service password> \
#     bash packages/dr-data/scripts/smoke-in-image.sh
#
# Azurite runs as a step's container, not a service container: a service cannot be given the flags the tool's
# SDK needs (--skipApiVersionCheck, --loose, as packages/dr-data/testkit/azurite.ts starts it).
set -euo pipefail
: "${IMAGE:?IMAGE: the image to test}"
: "${SMOKE_CLIENT_MAJOR:?}" "${SMOKE_SERVER_MAJORS:?}" "${AZURITE_IMAGE:?}" "${AZURITE_CONNECTION_STRING:?}"
: "${SMOKE_PASSWORD:?}"

if [ -z "$(docker ps --quiet --filter name=^smoke-azurite$)" ]; then
  docker run --detach --name smoke-azurite --publish 127.0.0.1:10000:10000 "$AZURITE_IMAGE" \
    azurite-blob --blobHost 0.0.0.0 --blobPort 10000 --skipApiVersionCheck --loose >/dev/null
fi
for _ in $(seq 1 60); do
  if (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then break; fi
  sleep 1
done

docker run --rm --network host --platform linux/amd64 \
  --env PGHOST=127.0.0.1 --env PGPORT=5432 --env PGUSER=postgres --env PGPASSWORD="$SMOKE_PASSWORD" \
  --env AZURE_STORAGE_CONNECTION_STRING="$AZURITE_CONNECTION_STRING" \
  --env SMOKE_CLIENT_MAJOR --env SMOKE_SERVER_MAJORS \
  --entrypoint node "$IMAGE" /opt/dr-data/image-smoke.js
