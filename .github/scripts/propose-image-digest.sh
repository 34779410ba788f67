#!/usr/bin/env bash
# Opens the pull request that moves every stack to a newly published data tool image (release-image.yml, job
# propose): `dataTool.image` becomes REPOSITORY@DIGEST wherever it is written — the shared ESC environment
# definitions (environments/<project>/<env>.yaml) and any Pulumi.<stack>.yaml that sets its own — on a branch
# named after the digest, committed and pushed, then `gh pr create`. The stacks change only through that
# reviewed pull request (its preview shows the Jobs' and the CronJob's new image), never through a tag.
#
#   propose-image-digest.sh REPOSITORY DIGEST [BASE]     (GH_TOKEN and GITHUB_REPOSITORY in the environment)
#
# The body's verification commands accept only this repository's release-image workflow run on main or on a
# dr-data-v* tag (GITHUB_REPOSITORY, owner/name): a signature made by a fork's copy of the workflow, or by a
# run on another branch, does not verify.
#
# Only a line `<indent>image: REPOSITORY@sha256:<64 hex>` is rewritten (dataTool.image; no other key has that
# value); at least one file must have it. Nothing to do when every file already names the digest; a branch that
# already exists is not pushed again.
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

source_repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY (owner/name of this repository) must be set}"
[[ "$source_repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || {
  echo "propose-image-digest: GITHUB_REPOSITORY must be <owner>/<name>; received '$source_repo'" >&2
  exit 2
}

image="${repository}@${digest}"
identity="^https://github\\.com/${source_repo//./\\.}/\\.github/workflows/release-image\\.yml@refs/(heads/main|tags/dr-data-v[^/]*)\$"
pattern="^( +image: )${repository//./\\.}@sha256:[0-9a-f]{64}\$"
shopt -s nullglob
files=()
for file in Pulumi.*.yaml environments/*/*.yaml; do
  if grep -Eq "$pattern" "$file"; then files+=("$file"); fi
done
[ "${#files[@]}" -gt 0 ] || {
  echo "propose-image-digest: no environment definition or stack file has a dataTool.image line naming $repository by digest" >&2
  exit 1
}
changed=()
for file in "${files[@]}"; do
  sed -E -i "s|${pattern}|\\1${image}|" "$file"
  git diff --quiet -- "$file" || changed+=("$file")
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

Verify before merging: \`cosign verify ${image} --certificate-identity-regexp '${identity}' --certificate-oidc-issuer https://token.actions.githubusercontent.com\`
and \`gh attestation verify oci://${image} --repo ${source_repo}\`.

Opened with the workflow's GITHUB_TOKEN, which starts no workflow: close and reopen this pull request to run the stacks' preview.
EOF
)"
