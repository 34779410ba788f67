#!/usr/bin/env bash
# The drill workflow's shell steps (.github/workflows/drill.yml); every name and rule comes from drill.ts,
# which reads the same stack file and plan as the up.
#
#   drill.sh start     STACK_NAME (a committed stack: the resolve job's, drill.ts stack), PULUMI_ORG: the
#                      drill's id, printed as stack=… id=… lines to $GITHUB_OUTPUT; exits 1 (and says why)
#                      while an incident is open in the stack file or the deployed stack.
#   drill.sh summary   STACK_NAME, DRILL_ID: the drill's report (the report Job's output) as Markdown on stdout.
set -euo pipefail
shopt -s inherit_errexit

drill_ts() { npx tsx .github/scripts/drill.ts "$@"; }

start() {
  local stack=$STACK_NAME outputs
  outputs=$(mktemp)
  # Fail closed: an incident declared outside git shows only in the deployed outputs, so a drill never starts
  # when they cannot be read (a stack with no update yet prints {} and exits 0: getStackOutputs in pulumi/pulumi
  # pkg/cmd/pulumi/stack/stack_output.go returns an empty map when there is no root stack resource).
  if ! pulumi stack output --json --stack "$PULUMI_ORG/$stack" >"$outputs"; then
    echo "drill: cannot read $stack's deployed outputs, so cannot tell whether an incident is open; no drill" >&2
    exit 1
  fi
  drill_ts start --stack="$stack" --outputs="$outputs" >>"$GITHUB_OUTPUT"
}

summary() {
  local where namespace job blob
  where=$(drill_ts where --stack="$STACK_NAME" --id="$DRILL_ID")
  namespace=$(jq -r .namespace <<<"$where")
  job=$(jq -r .reportJob <<<"$where")
  blob=$(jq -r '.container + "/" + .reportBlob' <<<"$where")
  echo "## Drill $DRILL_ID on $STACK_NAME"
  echo
  echo "Report: \`$blob\` in the backup storage account. A failed step or a missed objective fails the run."
  echo
  echo '```'
  kubectl -n "$namespace" logs "job/$job" 2>&1 || echo "(no report: the report Job $job did not run; see the up's output)"
  echo '```'
}

case "${1:-}" in
  start) start ;;
  summary) summary ;;
  *)
    echo "usage: drill.sh start|summary" >&2
    exit 2
    ;;
esac
