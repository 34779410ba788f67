#!/usr/bin/env bash
# Installs the PostgreSQL client programs of one major (pg_dump, pg_restore, psql) for the tests that run what
# the data tool's image runs: the image carries that major's client (packages/dr-data/image.json), and pg_dump
# refuses a server newer than itself, so the smoke and cross-major tests need it here too. Idempotent: does
# nothing when the programs are already there.
#
#   bash .ci/pg-client.sh 18        (as root)
#
# Debian's own package when the machine's apt sources have it (/usr/lib/postgresql/MAJOR/bin). Debian 12 has
# only postgresql-client-15, and a newer client from a newer Debian release needs that release's C library
# (libc6 >= 2.38), which cannot replace bookworm's. So then the package, its libpq5 and libldap2 and that
# release's libc6 are downloaded from the first Debian suite that has the client (`apt-get download`, with a
# private package list: the machine's sources are not changed), unpacked under
# /opt/service-dr/postgresql-client-MAJOR/root, and each program is run through that C library's own dynamic
# loader by a wrapper in /opt/service-dr/postgresql-client-MAJOR/bin. Libraries the release does not replace
# (libssl3, libzstd1, libgssapi-krb5-2, …: same sonames) come from the machine. Linux x86-64 only.
set -euo pipefail

major="${1:?usage: pg-client.sh MAJOR}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "pg-client.sh: MAJOR must be a number; received '$major'" >&2; exit 2; }
dest="/opt/service-dr/postgresql-client-${major}"
programs=(pg_dump pg_restore psql)

has_major() { "$1/pg_dump" --version 2>/dev/null | grep -q "(PostgreSQL) ${major}\."; }

if has_major "/usr/lib/postgresql/${major}/bin" || has_major "$dest/bin"; then exit 0; fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if apt-cache show "postgresql-client-${major}" >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends "postgresql-client-${major}" >/dev/null
  has_major "/usr/lib/postgresql/${major}/bin" && exit 0
fi

[ "$(dpkg --print-architecture)" = amd64 ] || {
  echo "pg-client.sh: no postgresql-client-${major} in this machine's apt sources, and the private copy is for amd64 only" >&2
  exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/lists/partial" "$work/debs"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/cache" -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root")
suite=""
for candidate in trixie forky sid; do
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${candidate} main" \
    >"$work/sources.list"
  apt-get "${apt_opts[@]}" update -qq
  if apt-cache "${apt_opts[@]}" show "postgresql-client-${major}" >/dev/null 2>&1; then
    suite="$candidate"
    break
  fi
done
[ -n "$suite" ] || { echo "pg-client.sh: no Debian suite has postgresql-client-${major}" >&2; exit 1; }

(cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq "postgresql-client-${major}" libpq5 libc6 libldap2)
rm -rf "$dest.partial"
mkdir -p "$dest.partial/root" "$dest.partial/bin"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$dest.partial/root"; done
lib="$dest/root/usr/lib/x86_64-linux-gnu"
for program in "${programs[@]}"; do
  cat >"$dest.partial/bin/$program" <<EOF
#!/bin/sh
# ${program} ${major} from Debian ${suite}, run with that release's C library (.ci/pg-client.sh).
exec "${lib}/ld-linux-x86-64.so.2" --library-path "${lib}:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu" \\
  "${dest}/root/usr/lib/postgresql/${major}/bin/${program}" "\$@"
EOF
  chmod 755 "$dest.partial/bin/$program"
done
rm -rf "$dest"
mv "$dest.partial" "$dest"
has_major "$dest/bin" || { echo "pg-client.sh: $dest/bin/pg_dump does not run" >&2; exit 1; }
echo "pg-client.sh: PostgreSQL ${major} client from Debian ${suite} in $dest/bin"
