#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for tests and local experiments.
#
#   bash scripts/pg.sh start STATE_DIR [PORT]   # prints the connection URL as its last line
#   bash scripts/pg.sh stop STATE_DIR           # stops that cluster (by its PID) and deletes it
#
# Uses the Debian package's binaries (scripts/setup-system.sh installs them). PostgreSQL will
# not run as root: as root the cluster lives in a fresh directory owned by the `postgres` user
# (STATE_DIR may sit under a private /tmp/pytest-of-root) and commands run via runuser.
# Trust authentication, listening on 127.0.0.1 only.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop STATE_DIR [PORT]}
state=${2:?usage: pg.sh start|stop STATE_DIR [PORT]}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  bin=$(dirname "$(command -v initdb || echo /nonexistent/initdb)")
fi
[ -x "$bin/initdb" ] || { echo "pg.sh: initdb not found (run scripts/setup-system.sh)" >&2; exit 2; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    port=${3:-5432}
    mkdir -p "$state"
    if [ "$(id -u)" -eq 0 ]; then
      cluster=$(mktemp -d /tmp/agentorch-pg.XXXXXX)
      chown postgres:postgres "$cluster"
    else
      cluster="$state/cluster"
      mkdir -p "$cluster"
    fi
    echo "$cluster" > "$state/cluster-path"
    as_owner "$bin/initdb" -D "$cluster/data" -U postgres --auth=trust -E UTF8 >"$state/initdb.log" 2>&1 \
      || { cat "$state/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster/data -c fsync=off" >/dev/null \
      || { cat "$cluster/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -f "$state/cluster-path" ] || exit 0
    cluster=$(cat "$state/cluster-path")
    if [ -f "$cluster/data/postmaster.pid" ]; then
      pid=$(head -1 "$cluster/data/postmaster.pid")
      kill -INT "$pid" 2>/dev/null || true          # "fast" shutdown of that postmaster only
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$cluster" "$state/cluster-path"
    ;;
  *)
    echo "usage: pg.sh start|stop STATE_DIR [PORT]" >&2
    exit 2
    ;;
esac
