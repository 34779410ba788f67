#!/usr/bin/env bash
# Keeps a fresh GitHub OIDC token (audience api://AzureADTokenExchange) in $AZURE_FEDERATED_TOKEN_FILE for
# the whole job. kubelogin (workloadidentity mode) reads the file at every token exchange, so kubectl and the
# Kubernetes provider stay authenticated through a multi-hour `pulumi up` that waits for the recovery Jobs; a
# token taken once by azure/login would expire long before. Started in the background; GitHub ends it with
# the job. No secret is stored: the request token is the job's own (permissions: id-token: write).
#
# A renewal that fails (an error, an empty or malformed answer, no answer within FEDERATED_TOKEN_TIMEOUT
# seconds) leaves the file as it was — the previous token may still be valid — logs why, and is retried
# sooner. The file is only ever replaced whole (rename of a complete temporary file), never emptied.
#
#   federated-token.sh           fetch once; exit 1 if that fails
#   federated-token.sh --loop    fetch once, then renew every 4 minutes (30 s after a failure)
set -euo pipefail
shopt -s inherit_errexit
: "${AZURE_FEDERATED_TOKEN_FILE:?}" "${ACTIONS_ID_TOKEN_REQUEST_URL:?}" "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:?}"
readonly TIMEOUT="${FEDERATED_TOKEN_TIMEOUT:-30}"
# GitHub's OIDC tokens live about 5 minutes: renew every 4, and retry sooner after a failure.
readonly RENEW_EVERY="${FEDERATED_TOKEN_RENEW_SECONDS:-240}" RETRY_AFTER="${FEDERATED_TOKEN_RETRY_SECONDS:-30}"

log() { printf '%s federated-token: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# Prints the token of GitHub's JSON answer on stdin ({"value": "<JWT>"}); fails on anything else.
token_of() {
  node -e '
    let s = "";
    process.stdin.on("data", (c) => (s += c)).on("end", () => {
      let v;
      try { v = JSON.parse(s).value; } catch { v = undefined; }
      // A JWT: three base64url parts (header.payload.signature).
      if (typeof v !== "string" || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(v)) process.exit(1);
      process.stdout.write(v);
    });'
}

# One renewal. Every step is checked explicitly: the loop calls it in a condition, where errexit is off.
fetch() {
  local answer tmp
  answer="$(mktemp)"
  tmp="$(mktemp "${AZURE_FEDERATED_TOKEN_FILE}.XXXXXX")"
  if ! curl -fsS --connect-timeout 10 --max-time "$TIMEOUT" -o "$answer" \
    -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
    "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=api://AzureADTokenExchange"; then
    log "renewal failed: the token request did not succeed within ${TIMEOUT}s; the previous token is kept"
  elif ! token_of <"$answer" >"$tmp"; then
    log "renewal failed: the answer holds no token ($(wc -c <"$answer") bytes); the previous token is kept"
  elif ! mv -f "$tmp" "$AZURE_FEDERATED_TOKEN_FILE"; then
    log "renewal failed: could not replace $AZURE_FEDERATED_TOKEN_FILE; the previous token is kept"
  else
    rm -f "$answer"
    return 0
  fi
  rm -f "$answer" "$tmp"
  return 1
}

fetch || exit 1
if [ "${1:-}" = "--loop" ]; then
  while true; do
    if fetch; then sleep "$RENEW_EVERY"; else sleep "$RETRY_AFTER"; fi
  done
fi
