#!/usr/bin/env bash
# The test command: sets up what the tests need on a fresh Debian machine (dependencies, a throw-away
# PostgreSQL on 127.0.0.1, Chromium when UI tests exist), type-checks, runs every test, prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

npm install --no-audit --no-fund 2>&1 | grep -v 'Unknown user config "nodedir"' || true
[ -d node_modules/effect ] || { echo "npm install failed"; echo "0 passed, 1 failed"; exit 1; }

# --- PostgreSQL: reuse ORION_TEST_PG_URL when it answers, else start our own throw-away server ---------------
pg_ok() { node -e "const c=new (require('pg').Client)({connectionString:process.argv[1],connectionTimeoutMillis:3000});c.connect().then(()=>c.end()).then(()=>process.exit(0),()=>process.exit(1))" "$1" 2>/dev/null; }
PGDATA_DIR=""
stop_pg() {
  [ -n "$PGDATA_DIR" ] || return 0
  if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    pid=$(head -1 "$PGDATA_DIR/postmaster.pid"); kill -INT "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$PGDATA_DIR"
}
trap stop_pg EXIT
if [ -z "${ORION_TEST_PG_URL:-}" ] || ! pg_ok "$ORION_TEST_PG_URL"; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "Installing PostgreSQL from Debian packages…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/tmp/orion-apt.log 2>&1 \
      || { echo "apt-get install postgresql failed (see /tmp/orion-apt.log)"; tail -5 /tmp/orion-apt.log; }
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  fi
  PGPORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  PGDATA_DIR=$(mktemp -d /tmp/orion-pgdata.XXXXXX)
  RUN_AS=""; [ "$(id -u)" = "0" ] && { chown postgres "$PGDATA_DIR"; RUN_AS="su postgres -s /bin/bash -c"; }
  run() { if [ -n "$RUN_AS" ]; then $RUN_AS "$1"; else bash -c "$1"; fi; }
  run "$PGBIN/initdb -D $PGDATA_DIR -A trust -U postgres" >/tmp/orion-initdb.log 2>&1 || { echo "initdb failed"; tail -5 /tmp/orion-initdb.log; }
  run "$PGBIN/pg_ctl -D $PGDATA_DIR -l $PGDATA_DIR/server.log -w -o '-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PGDATA_DIR -c fsync=off -c max_connections=200' start" >/dev/null \
    || { echo "PostgreSQL did not start"; tail -20 "$PGDATA_DIR/server.log"; }
  export ORION_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
fi
if pg_ok "$ORION_TEST_PG_URL"; then echo "PostgreSQL for tests: $ORION_TEST_PG_URL"; else echo "PostgreSQL unavailable: the pg suites will fail"; export ORION_TEST_PG_REQUIRED=1; fi
export ORION_TEST_PG_REQUIRED=1

# --- Chromium (the browser tests): reuse ORION_TEST_CHROMIUM when it runs, else Debian's chromium -------------
if [ -z "${ORION_TEST_CHROMIUM:-}" ] || [ ! -x "$ORION_TEST_CHROMIUM" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Chromium from Debian packages…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/tmp/orion-apt-chromium.log 2>&1 \
      || { echo "apt-get install chromium failed (see /tmp/orion-apt-chromium.log)"; tail -5 /tmp/orion-apt-chromium.log; }
  fi
  [ -x /usr/bin/chromium ] && export ORION_TEST_CHROMIUM=/usr/bin/chromium
fi
if [ -n "${ORION_TEST_CHROMIUM:-}" ] && [ -x "$ORION_TEST_CHROMIUM" ]; then echo "Chromium for tests: $ORION_TEST_CHROMIUM"; else echo "Chromium unavailable: the browser tests will fail"; fi

# --- type-check, then every test -------------------------------------------------------------------------------
failed_extra=0
echo "Type-checking…"
if ! npx tsc --noEmit -p tsconfig.json; then echo "type-check failed"; failed_extra=1; fi
if ! npx tsc --noEmit -p ui/tsconfig.json; then echo "type-check of ui/ failed"; failed_extra=1; fi
# The browser tests serve the built dashboard: build it now (npm install's `prepare` did too, unless it was skipped).
if ! npm run --silent build:ui >/tmp/orion-ui-build.log 2>&1; then echo "ui build failed"; tail -20 /tmp/orion-ui-build.log; failed_extra=1; fi
rm -f vitest.json
npx vitest run --reporter=default --reporter=json --outputFile=vitest.json
node -e '
  const fs = require("fs"); const extra = Number(process.argv[1]);
  const r = fs.existsSync("vitest.json") ? JSON.parse(fs.readFileSync("vitest.json", "utf8")) : { numPassedTests: 0, numFailedTests: 1 };
  const failed = r.numFailedTests + extra + (r.success === false && r.numFailedTests === 0 ? 1 : 0);
  console.log(`${r.numPassedTests} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0)' "$failed_extra"
