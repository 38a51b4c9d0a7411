# Shared set-up for scripts/run and scripts/test: servers up, virtualenv current. Sourced, not run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then echo "gave up waiting for $what" >&2; return 1; fi
        sleep 0.5
    done
}

ensure_services() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        say "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
        wait_for 60 PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
    fi
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        say "starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
        wait_for 30 Redis redis-cli -h 127.0.0.1 -p 6379 ping
    fi
    if ! rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then
        say "starting RabbitMQ"
        rabbitmq-server -detached || true
        wait_for 120 RabbitMQ rabbitmq-diagnostics -q check_port_connectivity
    fi
}

ensure_browser() { # headless Chromium and its driver, from Debian's packages, for tests/browser
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then return; fi
    say "installing Debian's chromium and chromium-driver (the browser test's)"
    local sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}

ensure_dev_idp() { # the dev identity provider's node modules (scripts/run, tests/browser)
    if [[ ! -d deploy/dev-idp/node_modules ]]; then
        say "installing the dev identity provider (npm)"
        npm ci --prefix deploy/dev-idp --silent --no-audit --no-fund
    fi
}

ensure_database() { # ensure_database NAME
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 \
        || createdb -h 127.0.0.1 -U postgres "$1"
}

ensure_venv() {
    local stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
    if [[ ! -f $stamp ]]; then
        say "installing Python dependencies into .venv"
        [[ -x .venv/bin/python ]] || "$PY" -m venv .venv
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[dev]"
        rm -f .venv/.installed-*
        touch "$stamp"
    fi
    export PATH="$ROOT/.venv/bin:$PATH"
}

ensure_ha_packages() { # Patroni, etcd and wrk from Debian, for scripts/test-ha
    local missing=()
    command -v patroni >/dev/null || missing+=(patroni)
    command -v etcd >/dev/null || missing+=(etcd-server)
    command -v wrk >/dev/null || missing+=(wrk)
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]} from Debian"
    local sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    # The packages' own services are not ours: the HA run starts its own etcd and Patroni.
    if command -v systemctl >/dev/null && systemctl is-active -q etcd 2>/dev/null; then
        "${sudo[@]}" systemctl disable --now etcd
    fi
}

ensure_node_modules() { # ensure_node_modules DIR: npm ci when package-lock.json changed since the last one
    local stamp=$1/node_modules/.installed-$(sha1sum "$1/package-lock.json" | cut -c1-12)
    if [[ ! -f $stamp ]]; then
        say "installing $1's npm packages"
        npm ci --prefix "$1" --silent --no-audit --no-fund
        touch "$stamp"
    fi
}
