#!/usr/bin/env bash
# Login server soak (docs/reliability.md, part 2): two sso-server replicas
# (release build) behind one apache2 mod_proxy_balancer address on
# 127.0.0.1, as a site would run them, with one shared Redis throttle store,
# SOAK_MINUTES of mixed wrk traffic (bench/soak_login_traffic.lua: silent
# tickets, good and bad logins, exchanges good and forged, logouts, the form
# without a session), and halfway one replica killed (SIGKILL) and started
# again SOAK_DOWN seconds later. Prints figures, never asserts:
#   requests by class and status, with p50/p99 latency per class (from the
#   balancer's access log: time the answer ended, class header, status,
#   microseconds, replica;
#   never a cookie or a ticket); sessions lost (a silent request with a
#   session cookie that got the login form instead of a ticket); valid
#   logins and exchanges refused; 5xx inside and outside the kill window;
#   sessions sealed by each replica checked on the other, before and after
#   the restart; replica RSS and open fds every 10 s; wrk's totals.
#
# Usage: bench/soak_login.sh   (env: SOAK_MINUTES=20 SOAK_DOWN=10 CONNS=16
#        THREADS=2 SOAK_SERVER=path/to/sso-server)
# Needs: apache2, wrk, redis-server, curl, openssl, python3-cryptography.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
SOAK_MINUTES=${SOAK_MINUTES:-20}
SOAK_DOWN=${SOAK_DOWN:-10}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
DURATION=$((SOAK_MINUTES * 60))
SAMPLE_EVERY=10
DOMAIN=soak.example.org
for tool in apache2 wrk redis-server curl openssl python3; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] \
        || { echo "soak: $tool is missing (scripts/setup installs it)" >&2; exit 1; }
done

if [ -z "${SOAK_SERVER:-}" ]; then
    echo "== building sso-server (release)"
    (cd "$ROOT" && cargo build --release -q -p sso-server)
    SOAK_SERVER=$TARGET/release/sso-server
fi

WORK=$(mktemp -d /tmp/sso_login_soak.XXXXXX)
chmod 755 "$WORK"
PIDS=()
declare -A REPLICA_PID
cleanup() {
    for p in "${PIDS[@]}" "${REPLICA_PID[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/run/httpd.pid" ] && kill "$(cat "$WORK/run/httpd.pid")" 2>/dev/null || true
    sleep 0.5
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_http() {
    for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "soak: $1 did not answer" >&2
    return 1
}

# Keys, accounts, Redis.
openssl genpkey -algorithm ed25519 -out "$WORK/secret.pem" 2>/dev/null
chmod 600 "$WORK/secret.pem"
openssl pkey -in "$WORK/secret.pem" -pubout -out "$WORK/public.pem" 2>/dev/null
PASSWORD=$(openssl rand -hex 12)
echo "$PASSWORD" | "$SOAK_SERVER" user add --users-file "$WORK/users" soak --groups staff 2>/dev/null
openssl rand -hex 12 | "$SOAK_SERVER" user add --users-file "$WORK/users" mallory 2>/dev/null
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis" "$WORK/run" "$WORK/traffic"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --save "" \
    --appendonly no --maxmemory-policy noeviction > "$WORK/redis/log" 2>&1 &
PIDS+=($!)

# One configuration per replica; only `listen` differs, so a session or a
# CSRF token sealed by one opens on the other.
SECRET=$("$SOAK_SERVER" gen-secret)
declare -A REPLICA_PORT
for r in a b; do
    REPLICA_PORT[$r]=$(free_port)
    cat > "$WORK/replica-$r.toml" <<EOF
domain = "$DOMAIN"
listen = "127.0.0.1:${REPLICA_PORT[$r]}"
secret_key_file = "$WORK/secret.pem"
public_key_files = ["$WORK/public.pem"]
allowed_services = ['(wiki|api)\.soak\.example\.org/']
trusted_proxies = ["127.0.0.1"]
[session]
secrets = ["$SECRET"]
[auth]
backend = "users_file"
users_file = "$WORK/users"
[[exchange]]
from = 'wiki\.soak\.example\.org/'
to = 'api\.soak\.example\.org/'
[throttle]
store = "redis://127.0.0.1:$REDIS_PORT/"
EOF
done
start_replica() {
    "$SOAK_SERVER" --config "$WORK/replica-$1.toml" 2>> "$WORK/replica-$1.log" &
    REPLICA_PID[$1]=$!
    wait_http "http://127.0.0.1:${REPLICA_PORT[$1]}/healthz"
}
start_replica a
start_replica b

# The balancer: mod_proxy_balancer, byrequests, a member in error is left
# alone for `retry` seconds and a refused connection is retried on the
# other member; `ttl` drops a pooled connection before sso-server closes it
# (20 s idle), so no request is sent on a connection being closed
# (docs/operations.md, "Several replicas").
PORT=$(free_port)
{ httpd_head "$WORK" "$PORT"; httpd_user; cat <<EOF
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
StartServers 2
ServerLimit 4
ThreadsPerChild 32
ThreadLimit 32
MaxRequestWorkers 128
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule proxy_module $MODULES/mod_proxy.so
LoadModule proxy_http_module $MODULES/mod_proxy_http.so
LoadModule proxy_balancer_module $MODULES/mod_proxy_balancer.so
LoadModule slotmem_shm_module $MODULES/mod_slotmem_shm.so
LoadModule lbmethod_byrequests_module $MODULES/mod_lbmethod_byrequests.so
LogFormat "%{end:sec}t %{X-Soak-Class}i %>s %D %{BALANCER_WORKER_NAME}e" soak
CustomLog "$WORK/access.log" soak
KeepAliveTimeout 30
MaxKeepAliveRequests 0
<Proxy "balancer://sso">
  BalancerMember "http://127.0.0.1:${REPLICA_PORT[a]}" retry=2 connectiontimeout=1 timeout=30 ttl=15
  BalancerMember "http://127.0.0.1:${REPLICA_PORT[b]}" retry=2 connectiontimeout=1 timeout=30 ttl=15
  ProxySet lbmethod=byrequests
</Proxy>
ProxyPass "/" "balancer://sso/"
EOF
} > "$WORK/httpd.conf"
/usr/sbin/apache2 -d "$WORK" -f "$WORK/httpd.conf" -k start
BASE=http://127.0.0.1:$PORT
wait_http "$BASE/healthz"

# Traffic files: a CSRF pair, one session sealed by each replica, tickets
# for the exchange (signed with the server's key, as the server signs).
WIKI="s=wiki.soak.example.org%2F&d=https%3A%2F%2Fwiki.soak.example.org%2F&n=soaknonce&g="
curl -fs -D "$WORK/form.headers" "http://127.0.0.1:${REPLICA_PORT[a]}/?$WIKI" > "$WORK/form.html"
CSRF_TOKEN=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$WORK/form.html")
CSRF_COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: __Host-sso_csrf=\([^;]*\);.*/\1/p' "$WORK/form.headers" | tr -d '\r')
echo "$CSRF_COOKIE $CSRF_TOKEN" > "$WORK/traffic/csrf"
echo "$PASSWORD" > "$WORK/traffic/password"
# login_at R: a session cookie sealed by replica R.
login_at() {
    curl -s -o /dev/null -D - -H "Cookie: __Host-sso_csrf=$CSRF_COOKIE" \
        --data "csrf=$CSRF_TOKEN&$WIKI&username=soak&password=$PASSWORD" \
        "http://127.0.0.1:${REPLICA_PORT[$1]}/login" \
        | sed -n 's/^[Ss]et-[Cc]ookie: __Host-sso_session=\([^;]*\);.*/\1/p' | tr -d '\r'
}
declare -A SESSION
SESSION[a]=$(login_at a)
SESSION[b]=$(login_at b)
[ -n "${SESSION[a]}" ] && [ -n "${SESSION[b]}" ] || { echo "soak: could not log in" >&2; cat "$WORK"/replica-*.log >&2; exit 1; }
printf '%s\n%s\n' "${SESSION[a]}" "${SESSION[b]}" > "$WORK/traffic/sessions"
python3 - "$WORK/secret.pem" "$DOMAIN" "$((DURATION + 3600))" > "$WORK/traffic/exchange" <<'EOF'
import base64, sys, time, urllib.parse
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
domain, ttl = sys.argv[2], int(sys.argv[3])
expires = int(time.time()) + ttl
for i in range(512):
    # The account must exist: the exchange asks the backend about it.
    content = f"4|soak|wiki.soak.example.org/|{domain}|{expires - i}||".encode()
    ticket = base64.urlsafe_b64encode(key.sign(content) + content).decode()
    print(urllib.parse.quote(ticket, safe=""))
EOF

# cross_check WHEN: each replica's session presented straight to the other
# (and to itself): 302 is a ticket, 200 is the login form (session lost).
cross_check() {
    local line="   sessions across replicas ($1):" from to code
    for from in a b; do
        for to in a b; do
            code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-sso_session=${SESSION[$from]}" \
                "http://127.0.0.1:${REPLICA_PORT[$to]}/?$WIKI")
            line+=" sealed by $from, at $to: $code;"
        done
    done
    echo "$line"
}
cross_check "before the run"

sample() {
    local r p
    for r in a b; do
        p=${REPLICA_PID[$r]}
        [ -r "/proc/$p/status" ] || { echo "$1 $r down - -"; continue; }
        echo "$1 $r $(awk '/VmRSS/ {print $2}' "/proc/$p/status") $(ls "/proc/$p/fd" | wc -l)"
    done >> "$WORK/samples"
}

: > "$WORK/access.log"
KILL_AT=$((DURATION / 2))
echo "== ${SOAK_MINUTES} min, $THREADS wrk threads, $CONNS connections; replica b killed at ${KILL_AT}s, started again ${SOAK_DOWN}s later"
SOAK_DIR=$WORK/traffic wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s \
    -s "$ROOT/bench/soak_login_traffic.lua" "$BASE/" > "$WORK/wrk.out" 2>&1 &
WRK_PID=$!
PIDS+=("$WRK_PID")
start=$SECONDS next_sample=0 killed= restarted= kill_epoch=0 back_epoch=0
while kill -0 "$WRK_PID" 2>/dev/null; do
    sleep 1
    t=$((SECONDS - start))
    if [ "$t" -ge "$next_sample" ]; then sample "$t"; next_sample=$((next_sample + SAMPLE_EVERY)); fi
    if [ -z "$killed" ] && [ "$t" -ge "$KILL_AT" ]; then
        killed=1
        kill -KILL "${REPLICA_PID[b]}"
        wait "${REPLICA_PID[b]}" 2>/dev/null || true
        kill_epoch=$(date +%s)
        echo "   replica b killed at ${t}s"
    fi
    if [ -n "$killed" ] && [ -z "$restarted" ] && [ "$t" -ge $((KILL_AT + SOAK_DOWN)) ]; then
        restarted=1
        start_replica b
        back_epoch=$(date +%s)
        echo "   replica b answering again at $((SECONDS - start))s"
        cross_check "after the restart"
    fi
done
wait "$WRK_PID" || true
cross_check "at the end"

# The window in which the kill may show: from the kill until `retry` (2 s)
# after the replica answered again.
win_from=$kill_epoch win_to=$((back_epoch + 3))
echo "-- figures"
grep -E "requests in|Socket errors|Requests/sec|Non-2xx" "$WORK/wrk.out" | sed 's/^ */   wrk: /'
echo "   requests by class and status, latency at the balancer (ms): count p50 p99 max"
awk '{print $2, $3, $4}' "$WORK/access.log" | sort -k1,1 -k2,2 -k3,3n | awk '
    function flush() { if (n) printf "     %-13s %s %9d %8.1f %8.1f %8.1f\n", k1, k2, n, v[int((n-1)*0.5)+1]/1000, v[int((n-1)*0.99)+1]/1000, v[n]/1000 }
    { if ($1" "$2 != k1" "k2) { flush(); k1=$1; k2=$2; n=0; delete v } v[++n]=$3 }
    END { flush() }'
echo "   answers by replica: $(awk '{c[$5]++} END {for (k in c) printf "%s %d; ", k, c[k]}' "$WORK/access.log")"
echo "   sessions lost (silent with a session answered with the form, 200): $(awk '$2=="silent" && $3==200 {n++} END {print n+0}' "$WORK/access.log")"
echo "   valid requests refused (silent, login_good, exchange, logout not 302/302/200/200), outside the kill window: $(awk -v a="$win_from" -v b="$win_to" '
    ($1<a || $1>b) && (($2=="silent" && $3!=302) || ($2=="login_good" && $3!=302) || ($2=="exchange" && $3!=200) || ($2=="logout" && $3!=200)) {n++} END {print n+0}' "$WORK/access.log")"
echo "   bad requests let through (login_bad 302, exchange_bad 200): $(awk '($2=="login_bad" && $3==302) || ($2=="exchange_bad" && $3==200) {n++} END {print n+0}' "$WORK/access.log")"
echo "   5xx outside the kill window: $(awk -v a="$win_from" -v b="$win_to" '($1<a || $1>b) && $3 ~ /^5/ {n++} END {print n+0}' "$WORK/access.log")"
echo "   5xx inside the kill window ($((win_to - win_from)) s): $(awk -v a="$win_from" -v b="$win_to" '$1>=a && $1<=b && $3 ~ /^5/ {c[$2" "$3]++} END {for (k in c) printf "%s ×%d; ", k, c[k]; if (!length(c)) print 0}' "$WORK/access.log")"
echo "   balancer errors logged: $(grep -c 'AH0' "$WORK/error.log" || true) (first kinds below)"
grep -oE 'AH[0-9]+: [^:,]*' "$WORK/error.log" | sort | uniq -c | sort -rn | head -4 | sed 's/^/     /'
echo "   replica log lines: a $(wc -l < "$WORK/replica-a.log"), b $(wc -l < "$WORK/replica-b.log"); events (a+b): $(cat "$WORK"/replica-*.log | grep -oE 'event=[a-z-]+' | sort | uniq -c | sort -rn | awk '{printf "%s %s; ", $2, $1}')"
echo "   replica samples every ${SAMPLE_EVERY}s: t(s) replica RSS kB fds"
awk '{printf "     %6d %s %8s %4s\n", $1, $2, $3, $4}' "$WORK/samples" \
    | awk 'NR<=4 || /down/ || NR%12==1 || NR%12==2 {print} END {print "     (every 60 s shown; last:)"}'
tail -2 "$WORK/samples" | awk '{printf "     %6d %s %8s %4s\n", $1, $2, $3, $4}'
echo "   RSS kB min/max after the first minute: a $(awk '$1>=60 && $2=="a" {if (!m || $3<m) m=$3; if ($3>x) x=$3} END {print m"/"x}' "$WORK/samples"), b (both lives) $(awk '$1>=60 && $2=="b" && $3!="down" {if (!m || $3<m) m=$3; if ($3>x) x=$3} END {print m"/"x}' "$WORK/samples")"
