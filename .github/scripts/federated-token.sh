#!/usr/bin/env bash
# Keeps a fresh GitHub OIDC token (audience api://AzureADTokenExchange) in $AZURE_FEDERATED_TOKEN_FILE for
# the whole job. kubelogin (workloadidentity mode) reads the file at every token exchange, so kubectl and the
# Kubernetes provider stay authenticated through a multi-hour `pulumi up` that waits for the recovery Jobs; a
# token taken once by azure/login would expire long before. Started in the background; GitHub ends it with
# the job. No secret is stored: the request token is the job's own (permissions: id-token: write).
set -euo pipefail
: "${AZURE_FEDERATED_TOKEN_FILE:?}" "${ACTIONS_ID_TOKEN_REQUEST_URL:?}" "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:?}"
fetch() {
  curl -fsS -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
    "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=api://AzureADTokenExchange" \
    | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>process.stdout.write(JSON.parse(s).value))' \
    > "${AZURE_FEDERATED_TOKEN_FILE}.new"
  mv "${AZURE_FEDERATED_TOKEN_FILE}.new" "${AZURE_FEDERATED_TOKEN_FILE}"
}
fetch
if [ "${1:-}" = "--loop" ]; then
  # GitHub's OIDC tokens live about 5 minutes: renew every 4.
  while sleep 240; do fetch || echo "federated-token: renewal failed, retrying in 4 min" >&2; done
fi
