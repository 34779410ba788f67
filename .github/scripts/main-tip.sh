#!/usr/bin/env bash
# The git side of every run that previews or ups a stack: it works on the newest commit of the default branch
# at the moment it holds the stack's concurrency slot, never on the commit that triggered it. A run that
# waited for the slot was triggered before the runs ahead of it committed their config: from its own commit,
# its up would undo theirs (maintenance off, unfreeze, drMode=none deleting the PTR copy mid-incident).
# Called right after actions/checkout, inside the slot (docs/runbook.md, "From GitHub").
#
#   main-tip.sh checkout <branch>
#       Fetch <branch> and check out its tip (detached). Ups after a merge, and the DR step before its setup.
#   main-tip.sh merge <branch> <head-sha>
#       <branch>'s tip with the pull request's head (already fetched) merged in: what merging would deploy
#       now. Pull-request previews. A head that does not merge cleanly is refused.
#   main-tip.sh commit <branch> <file> <message> -- <command> [<arg>...]
#       The DR step: on <branch>'s tip, run <command> (it applies the step's change to <file> and previews
#       it); only when it exits 0, commit <file> and push it to <branch>, before the up, so the next run in
#       the slot starts from it. A push refused because <branch> moved meanwhile (a merge) starts over on the
#       new tip: the change is applied there again and previewed again; DR_PUSH_ATTEMPTS (3) times at most.
#
# GIT_TOKEN, when set, reaches git through a credential helper that reads it from the environment: never on
# a command line, never in .git/config, and not passed to <command>.
set -euo pipefail
# A failing command inside $(…) fails the assignment too (bash leaves errexit off there by default).
shopt -s inherit_errexit

readonly COMMITTER_NAME="service-dr DR step"
readonly COMMITTER_EMAIL="service-dr-dr-step@users.noreply.github.com"
# What the job's setup installed from: if the tip changes one of these, node_modules no longer match it.
readonly INSTALLED_FROM=(package.json package-lock.json packages/dr-data/package.json policy/package.json)

log() { printf 'main-tip: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# git, given GIT_TOKEN for the remote when there is one.
remote_git() {
  if [ -n "${GIT_TOKEN:-}" ]; then
    # shellcheck disable=SC2016 # expanded by the helper's shell, when git asks: the token stays in the environment
    git -c credential.helper= \
      -c 'credential.helper=!f() { test "$1" = get || exit 0; echo username=x-access-token; echo "password=${GIT_TOKEN}"; }; f' \
      "$@"
  else
    git "$@"
  fi
}

# Fetches <branch> and prints its tip.
fetch_tip() {
  remote_git fetch --quiet --no-tags origin "+refs/heads/$1:refs/remotes/origin/$1"
  git rev-parse "refs/remotes/origin/$1"
}

checkout_tip() {
  local tip
  tip="$(fetch_tip "$1")"
  git checkout --quiet --force --detach "$tip"
  log "on the tip of $1: $tip"
}

merge_head() {
  local branch=$1 head=$2
  git cat-file -e "$head^{commit}" 2>/dev/null || die "the pull request's head $head is not in this clone (check it out with fetch-depth: 0)"
  checkout_tip "$branch"
  if ! git -c user.name=preview -c user.email=preview@localhost merge --quiet --no-ff --no-edit "$head" >&2; then
    git merge --abort || true
    die "the pull request's head $head does not merge cleanly into the tip of $branch: merge $branch into the pull request's branch"
  fi
  log "previewing $head merged into $branch: $(git rev-parse HEAD)"
}

# One attempt of the DR step's commit: apply and preview on the tip, commit, push. Sets MOVED=1 when the push
# was refused because <branch> moved; exits on any other failure. Never called in a condition (`f || …`),
# which would turn errexit off inside it.
MOVED=0
commit_attempt() {
  local branch=$1 file=$2 message=$3 installed=$4
  shift 4
  checkout_tip "$branch"
  local base
  base="$(git rev-parse HEAD)"
  git diff --quiet "$installed" "$base" -- "${INSTALLED_FROM[@]}" ||
    die "$branch changed the dependencies since this run installed them ($installed → $base): nothing committed; run the step again"
  env -u GIT_TOKEN "$@" || die "the change or its preview failed on $base: nothing committed, nothing applied"
  local changed
  changed="$(git status --porcelain --untracked-files=all)"
  if [ -z "$changed" ]; then
    log "no change to $file: nothing to commit"
    MOVED=0
    return 0
  fi
  [ "$changed" = " M $file" ] || die "the change touched more than $file: ${changed//$'\n'/, }; nothing committed"
  git -c user.name="$COMMITTER_NAME" -c user.email="$COMMITTER_EMAIL" commit --quiet -m "$message" -- "$file"
  MOVED=0
  if remote_git push --quiet origin "HEAD:refs/heads/$branch"; then
    log "pushed $(git rev-parse HEAD) to $branch"
    return 0
  fi
  local now
  now="$(fetch_tip "$branch")"
  [ "$now" != "$base" ] || die "the push to $branch was refused although $branch did not move: nothing committed"
  log "$branch moved while the change was previewed ($base → $now): applying it again on the new tip"
  MOVED=1
}

commit_change() {
  if [ $# -lt 5 ] || [ "$4" != "--" ]; then
    die "usage: main-tip.sh commit <branch> <file> <message> -- <command> [<arg>...]"
  fi
  local branch=$1 file=$2 message=$3 attempts=${DR_PUSH_ATTEMPTS:-3}
  shift 4
  local installed attempt
  installed="$(git rev-parse HEAD)"
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    commit_attempt "$branch" "$file" "$message" "$installed" "$@"
    [ "$MOVED" -eq 1 ] || return 0
  done
  die "$branch moved $attempts times while the change was previewed: nothing committed; run the step again"
}

main() {
  case "${1:-}" in
    checkout)
      [ $# -eq 2 ] || die "usage: main-tip.sh checkout <branch>"
      checkout_tip "$2"
      ;;
    merge)
      [ $# -eq 3 ] || die "usage: main-tip.sh merge <branch> <head-sha>"
      merge_head "$2" "$3"
      ;;
    commit)
      shift
      commit_change "$@"
      ;;
    *) die "usage: main-tip.sh checkout|merge|commit … (see the head of this file); got ${1:-nothing}" ;;
  esac
}

# The whole file is read before main runs: a checkout that rewrites this file cannot change what runs.
main "$@"
exit
