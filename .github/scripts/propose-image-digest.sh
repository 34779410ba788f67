#!/usr/bin/env bash
# Opens the pull request that moves every stack to a newly published data tool image (release-image.yml, job
# propose): `dataTool.image` in each Pulumi.<stack>.yaml becomes REPOSITORY@DIGEST, on a branch named after the
# digest, committed and pushed, then `gh pr create`. The stacks change only through that reviewed pull request
# (its preview shows the Jobs' and the CronJob's new image), never through a tag.
#
#   propose-image-digest.sh REPOSITORY DIGEST [BASE]     (GH_TOKEN in the environment for gh)
#
# Only a line `    image: REPOSITORY@sha256:<64 hex>` is rewritten (dataTool.image; no other key has that value).
# Nothing to do when every stack already names the digest; a branch that already exists is not pushed again.
set -euo pipefail

repository="${1:?usage: propose-image-digest.sh REPOSITORY DIGEST [BASE]}"
digest="${2:?usage: propose-image-digest.sh REPOSITORY DIGEST [BASE]}"
base="${3:-main}"
[[ "$repository" =~ ^ghcr\.io/[a-z0-9._-]+/[a-z0-9._/-]+$ ]] || {
  echo "propose-image-digest: REPOSITORY must be ghcr.io/<owner>/<name> in lowercase; received '$repository'" >&2
  exit 2
}
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || {
  echo "propose-image-digest: DIGEST must be sha256:<64 hex digits>; received '$digest'" >&2
  exit 2
}

image="${repository}@${digest}"
pattern="^(    image: )${repository//./\\.}@sha256:[0-9a-f]{64}\$"
stacks=(Pulumi.*.yaml)
changed=()
for stack in "${stacks[@]}"; do
  grep -Eq "$pattern" "$stack" || {
    echo "propose-image-digest: $stack has no dataTool.image line naming $repository by digest" >&2
    exit 1
  }
  sed -E -i "s|${pattern}|\\1${image}|" "$stack"
  git diff --quiet -- "$stack" || changed+=("$stack")
done
if [ "${#changed[@]}" -eq 0 ]; then
  echo "propose-image-digest: every stack already names $image"
  exit 0
fi

branch="release-image/${digest#sha256:}"
branch="${branch:0:26}"
if git ls-remote --exit-code --heads origin "$branch" >/dev/null; then
  echo "propose-image-digest: branch $branch exists already (its pull request is open or was closed)"
  exit 0
fi
git switch -c "$branch"
git add -- "${changed[@]}"
git -c user.name="github-actions[bot]" -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
  commit -q -m "dataTool.image: ${image}" \
  -m "Published by the release-image workflow: built, smoke-tested in the image against PostgreSQL, scanned, signed (keyless) with build provenance and an SBOM."
git push -q origin "$branch"
gh pr create --base "$base" --head "$branch" --title "Data tool image ${digest:0:19}" --body "$(
  cat <<EOF
Moves ${changed[*]} to the data tool image published by the release-image workflow:

    ${image}

Verify before merging: \`cosign verify ${image} --certificate-identity-regexp '^https://github.com/.+/.github/workflows/release-image.yml@' --certificate-oidc-issuer https://token.actions.githubusercontent.com\`
and \`gh attestation verify oci://${image} --repo <owner>/<repo>\`.

Opened with the workflow's GITHUB_TOKEN, which starts no workflow: close and reopen this pull request to run the stacks' preview.
EOF
)"
