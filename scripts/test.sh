#!/usr/bin/env bash
# The whole suite: static checks, then pytest on SQLite, then pytest on a
# throw-away PostgreSQL 15 cluster that this script creates and always stops.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export GRIDGOV_SECRET_KEY=${GRIDGOV_SECRET_KEY:-test-only-secret-key}
export GRIDGOV_STATIC_MANIFEST=0
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}  # the same Hypothesis examples on every run (conftest.py)
unset DATABASE_URL
# Two pytest workers (pytest-xdist; each gets its own test database): CI has 2 cores.
# PYTEST_WORKERS=0 runs in one process (easier to read a failure's output).
PYTEST_WORKERS=${PYTEST_WORKERS:-2}
PYTEST_ARGS=()
[ "$PYTEST_WORKERS" != "0" ] && PYTEST_ARGS+=(-n "$PYTEST_WORKERS")
PYTEST_ARGS+=("$@")

step() { printf '\n==> %s\n' "$*"; }

step "ruff check"
"$VENV/bin/ruff" check .
step "ruff format --check"
"$VENV/bin/ruff" format --check .
step "mypy"
"$VENV/bin/mypy" gridding gridgov
step "makemigrations --check"
"$PY" manage.py makemigrations --check --dry-run
step "compilemessages"
command -v msgfmt >/dev/null || scripts/apt-install.sh gettext
"$PY" manage.py compilemessages --ignore=.venv -v0

# Browser tests drive Debian's Chromium through Playwright (no browser download).
command -v chromium >/dev/null || scripts/apt-install.sh chromium

step "pytest on SQLite"
"$PY" -m pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"

step "pytest on PostgreSQL"
PG_BIN=""
for candidate in /usr/lib/postgresql/*/bin; do
  [ -x "$candidate/initdb" ] && PG_BIN="$candidate"
done
if [ -z "$PG_BIN" ]; then
  scripts/apt-install.sh postgresql
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/initdb" ] && PG_BIN="$candidate"
  done
fi
[ -n "$PG_BIN" ] || { echo "PostgreSQL binaries not found" >&2; exit 1; }

PG_DIR=$(mktemp -d /tmp/gridgov-pg.XXXXXX)
PG_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
# PostgreSQL refuses to run as root: run the cluster as the postgres system user.
AS_PG=()
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home "$PG_DIR" postgres
  chown postgres "$PG_DIR"
  AS_PG=(runuser -u postgres --)
fi
stop_pg() {
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_pg EXIT
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
  start >/dev/null
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" \
  "$PY" -m pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"
