#!/usr/bin/env bash
# sso-gate benchmark: prints figures beside their bounds, never asserts.
#
# One private nginx (Debian's) and one sso-gate, wrk as the client:
#   static     nginx serving a small file: the ceiling;
#   bound      nginx + auth_request to a trivial 200 responder, kept-alive
#              connections as in the gate's snippet, twice: a server of
#              the same nginx process, and a second nginx process (a
#              forward-auth service is always another process); the
#              higher of the two is the bound of any forward-auth;
#   gate       nginx + auth_request to sso-gate (the snippet of
#              docs/sso-gate.md) with a warm browser cookie (ticket and
#              binding cookie), and its ratio to `bound`. In all three the
#              page itself comes from the same kept-alive upstream (the
#              snippet's `proxy_pass` to the application is pointed at
#              it), so they differ only in the auth subrequest;
#   proxy      sso-gate as a reverse proxy (a warm Authorization: SSO
#              ticket) in front of the static server, against nginx's
#              proxy_pass to the same server, with wrk's p99 latencies,
#              and a public route of the same gate (no check: the cost of
#              the HTTP stack alone); CPU per request beside each;
#   big        10 MB downloads and uploads through the reverse proxy
#              (curl, four at a time): the gate's RSS (VmRSS) sampled
#              during them, which must stay flat (bodies stream);
#   1,000      1,000 concurrent kept-alive connections (wrk -c1000) to each
#              gate: the forward-auth gate's /auth-request directly (with
#              the headers nginx sends), the reverse proxy: requests/s, p99;
# and the gate's peak RSS (VmHWM) at the end, after the 1,000 connections. Never-seen tickets are not
# measured here: bench/mod_sso.sh measures the cold verification path the
# gate shares with mod_sso (sso_core's verifier).
#
# Every nginx here runs one worker process; each gate runs its default
# `workers` ("auto": one thread per CPU, here sharing both cores with nginx
# and wrk) unless WORKERS says otherwise (WORKERS=1: one thread, as nginx's
# one worker; WORKERS= empty leaves the key out, for a gate older than it,
# with BIN_DIR).
#
# Usage: bench/gate.sh [--quick]   (env: DURATION CONNS WORKERS; PROFILE=debug to
# measure a debug build instead of building release; BIN_DIR=DIR to
# measure the sso-gate and ssotool in DIR, building nothing, e.g. an older
# build kept for a before/after comparison)
# Needs: nginx, wrk, python3; run as root or as a user who may run nginx.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
PROFILE=${PROFILE:-release}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
WORKERS=${WORKERS-auto}
[ "$WORKERS" = auto ] && WORKERS='"auto"'
WORKERS_LINE=${WORKERS:+workers = $WORKERS}
if [ "${1:-}" = "--quick" ]; then DURATION=2; fi

if [ -n "${BIN_DIR:-}" ]; then
    BIN=$BIN_DIR
    echo "== using $BIN"
else
    echo "== building ($PROFILE)"
    if [ "$PROFILE" = release ]; then
        (cd "$ROOT" && cargo build --release -q -p sso-gate -p ssotool)
    else
        (cd "$ROOT" && cargo build -q -p sso-gate -p ssotool)
    fi
    BIN=$TARGET/$PROFILE
fi

WORK=$(mktemp -d /tmp/gate_bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on $1" >&2
    exit 1
}

P_NGINX=$(free_port) P_STATIC=$(free_port) P_OK=$(free_port) P_BOUND=$(free_port)
P_PROXY=$(free_port) P_GATE=$(free_port) P_GATE_PROXY=$(free_port)
P_OK_APART=$(free_port) P_BOUND_APART=$(free_port)
SERVICE="127.0.0.1:$P_NGINX/app/"
PROXY_SERVICE="127.0.0.1:$P_GATE_PROXY/"

# Keys and tickets: a browser ticket bound to a binding secret (the warm
# cookie), and a program ticket for the reverse proxy.
"$BIN/ssotool" gen-keys --output "$WORK/public.key" --secret-key "$WORK/secret.key" >/dev/null
SECRET=bench-binding-secret
NONCE=$(printf 'sso nonce commitment v1\0%s' "$SECRET" | sha256sum | cut -c1-32)
COOKIE_TICKET=$("$BIN/ssotool" sign --secret-key "$WORK/secret.key" --user alice \
    --service "$SERVICE" --domain bench.example.org --ttl 3600 --nonce "$NONCE")
PROXY_TICKET=$("$BIN/ssotool" sign --secret-key "$WORK/secret.key" --user alice \
    --service "$PROXY_SERVICE" --domain bench.example.org --ttl 3600)

mkdir -p "$WORK/www/app" "$WORK/www/open"
echo "hello" > "$WORK/www/app/index.html"
echo "hello" > "$WORK/www/open/index.html"
head -c 10000000 /dev/zero > "$WORK/www/app/big"

# gate_config PORT SERVICE [ROUTE_LINES]: a gate on 127.0.0.1:PORT with one
# route for SERVICE.
gate_config() {
    cat <<CONF
listen = "127.0.0.1:$1"
login_server = "https://login.example.org/"
domain = "bench.example.org"
public_key_files = ["$WORK/public.key"]
$WORKERS_LINE
[[route]]
service = "$2"
${3:-}
CONF
}
gate_config "$P_GATE" "$SERVICE" > "$WORK/gate.toml"
# The proxy, and a public route of it: the same proxy without the check,
# what the HTTP stack itself costs.
gate_config "$P_GATE_PROXY" "$PROXY_SERVICE" "upstream = \"http://127.0.0.1:$P_STATIC\"
[[route]]
path = \"/open/\"
mode = \"public\"
upstream = \"http://127.0.0.1:$P_STATIC\"" > "$WORK/gate-proxy.toml"

# The documented snippet, on this bench's ports.
SNIPPET=$(sed -n '/<!-- nginx snippet/,/^```$/p' "$ROOT/docs/sso-gate.md" | sed '1,2d;$d' \
    | sed -e "s/listen 80;/listen 127.0.0.1:$P_NGINX;/" \
          -e "s/127.0.0.1:4180/127.0.0.1:$P_GATE/" \
          -e 's|proxy_pass http://127.0.0.1:8080;|proxy_pass http://static; proxy_http_version 1.1; proxy_set_header Connection "";|')
cat > "$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  upstream static { server 127.0.0.1:$P_STATIC; keepalive 32; }
  upstream ok { server 127.0.0.1:$P_OK; keepalive 16; }
  upstream ok_apart { server 127.0.0.1:$P_OK_APART; keepalive 16; }
  server {
    listen 127.0.0.1:$P_STATIC; root $WORK/www;
    location = /app/upload { client_max_body_size 20m; return 200; }
  }
  server { listen 127.0.0.1:$P_OK; location / { return 200; } }
  server {
    listen 127.0.0.1:$P_BOUND;
    auth_request /_auth;
    location = /_auth { internal; proxy_pass http://ok; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
    location / { proxy_pass http://static; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$P_BOUND_APART;
    auth_request /_auth;
    location = /_auth { internal; proxy_pass http://ok_apart; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
    location / { proxy_pass http://static; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$P_PROXY;
    location / { proxy_pass http://static; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
$SNIPPET
}
CONF
# The trivial responder in a process of its own.
mkdir -p "$WORK/apart"
cat > "$WORK/apart/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/apart/nginx.pid;
error_log $WORK/apart/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/apart/body;
  proxy_temp_path $WORK/apart/proxy;
  fastcgi_temp_path $WORK/apart/fastcgi;
  uwsgi_temp_path $WORK/apart/uwsgi;
  scgi_temp_path $WORK/apart/scgi;
  server { listen 127.0.0.1:$P_OK_APART; location / { return 200; } }
}
CONF
if [ "$(id -u)" = 0 ]; then
    sed -i '1i user root;' "$WORK/nginx.conf" "$WORK/apart/nginx.conf"
fi

"$BIN/sso-gate" --config "$WORK/gate.toml" 2>"$WORK/gate.log" & PIDS+=($!)
GATE_PID=$!
"$BIN/sso-gate" --config "$WORK/gate-proxy.toml" 2>"$WORK/gate-proxy.log" & PIDS+=($!)
PROXY_PID=$!
nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" & PIDS+=($!)
nginx -p "$WORK/apart" -c "$WORK/apart/nginx.conf" -e "$WORK/apart/error.log" & PIDS+=($!)
for p in $P_GATE $P_GATE_PROXY $P_NGINX $P_STATIC $P_BOUND $P_PROXY $P_OK_APART $P_BOUND_APART; do
    wait_port "$p"
done
# A port handed out twice (free_port) would have another server answer
# for a gate that could not listen: stop rather than print its figures.
for pid in $GATE_PID $PROXY_PID; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK"/gate*.log >&2; echo "a gate did not start" >&2; exit 1; }
done

# CPU time (user + system, clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
NGINX_WORKER=$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -1)
TICK=$(getconf CLK_TCK)

# One wrk run: requests/s, p99 and non-2xx answers; with CPU_PID set, also
# the CPU microseconds that process spent per request. Requests/s move with
# whatever else the machine runs; CPU per request much less so.
measure() {
    local url=$1; shift
    local out before=0
    [ -n "${CPU_PID:-}" ] && before=$(cpu_ticks "$CPU_PID")
    out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url")
    local rps p99 non2xx requests cpu=-
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    if [ -n "${CPU_PID:-}" ]; then
        cpu=$(awk -v t=$(($(cpu_ticks "$CPU_PID") - before)) -v r="$requests" -v hz="$TICK" \
            'BEGIN { printf "%.1f", t * 1e6 / hz / r }')
    fi
    echo "$rps ${p99:-?} ${non2xx:-0} $cpu"
}

COOKIE="Cookie: SSO_ticket=$COOKIE_TICKET; SSO_binding=$SECRET"
echo "== forward-auth behind nginx (${DURATION}s, $CONNS connections; gate workers = ${WORKERS:-not set})"
read -r static_rps static_p99 _ <<<"$(measure "http://127.0.0.1:$P_STATIC/app/index.html")"
read -r bound_rps bound_p99 _ <<<"$(measure "http://127.0.0.1:$P_BOUND/app/index.html")"
read -r apart_rps apart_p99 _ <<<"$(measure "http://127.0.0.1:$P_BOUND_APART/app/index.html")"
read -r gate_rps gate_p99 gate_bad gate_cpu <<<"$(CPU_PID=$GATE_PID measure "http://127.0.0.1:$P_NGINX/app/index.html" -H "$COOKIE")"
printf '%-34s %10s req/s  p99 %s\n' "nginx static file" "$static_rps" "$static_p99"
printf '%-34s %10s req/s  p99 %s\n' "nginx + auth_request to a 200" "$bound_rps" "$bound_p99"
printf '%-34s %10s req/s  p99 %s\n' "  ... a 200 in another nginx" "$apart_rps" "$apart_p99"
printf '%-34s %10s req/s  p99 %s  (non-2xx: %s)  gate CPU %s us/request\n' \
    "nginx + auth_request to sso-gate" "$gate_rps" "$gate_p99" "$gate_bad" "$gate_cpu"
awk -v g="$gate_rps" -v b="$bound_rps" -v a="$apart_rps" 'BEGIN {
    if (a > b) b = a
    printf "gate / bound (the higher): %.2f (goal >= 0.9)\n", g / b }'

echo "== reverse proxy (${DURATION}s, $CONNS connections)"
read -r np_rps np_p99 _ np_cpu <<<"$(CPU_PID=$NGINX_WORKER measure "http://127.0.0.1:$P_PROXY/app/index.html")"
read -r gp_rps gp_p99 gp_bad gp_cpu <<<"$(CPU_PID=$PROXY_PID measure "http://127.0.0.1:$P_GATE_PROXY/app/index.html" -H "Authorization: SSO $PROXY_TICKET")"
read -r pp_rps pp_p99 pp_bad pp_cpu <<<"$(CPU_PID=$PROXY_PID measure "http://127.0.0.1:$P_GATE_PROXY/open/index.html")"
printf '%-34s %10s req/s  p99 %s  nginx CPU %s us/request (with the upstream)\n' \
    "nginx proxy_pass" "$np_rps" "$np_p99" "$np_cpu"
printf '%-34s %10s req/s  p99 %s  (non-2xx: %s)  gate CPU %s us/request\n' \
    "sso-gate upstream" "$gp_rps" "$gp_p99" "$gp_bad" "$gp_cpu"
printf '%-34s %10s req/s  p99 %s  (non-2xx: %s)  gate CPU %s us/request\n' \
    "  ... a public route (no check)" "$pp_rps" "$pp_p99" "$pp_bad" "$pp_cpu"
awk -v g="$gp_rps" -v n="$np_rps" 'BEGIN { printf "gate / nginx: %.2f (goal >= 0.8)\n", g / n }'

echo "== 10 MB bodies through the reverse proxy (RSS of the gate, kB)"
rss() { awk '/VmRSS/ {print $2}' "/proc/$PROXY_PID/status"; }
rss_before=$(rss)
AUTH="Authorization: SSO $PROXY_TICKET"
(
    for _ in 1 2 3 4 5; do
        for _ in 1 2; do
            curl -sf -o /dev/null -H "$AUTH" "http://127.0.0.1:$P_GATE_PROXY/app/big" &
            curl -sf -o /dev/null -H "$AUTH" --data-binary "@$WORK/www/app/big" \
                "http://127.0.0.1:$P_GATE_PROXY/app/upload" &
        done
        wait
    done
) & TRANSFERS=$!
rss_max=$rss_before
while kill -0 "$TRANSFERS" 2>/dev/null; do
    r=$(rss); [ "$r" -gt "$rss_max" ] && rss_max=$r
    sleep 0.02
done
wait "$TRANSFERS" || echo "(a transfer failed)"
printf '%-34s before %s, highest during %s, after %s\n' "20 downloads + 20 uploads" \
    "$rss_before" "$rss_max" "$(rss)"

echo "== 1,000 concurrent connections (${DURATION}s)"
ulimit -n 8192 2>/dev/null || true
read -r kf_rps kf_p99 kf_bad _ <<<"$(CONNS=1000 measure "http://127.0.0.1:$P_GATE/auth-request" -H "$COOKIE" \
    -H "X-Forwarded-Method: GET" -H "X-Forwarded-Proto: http" \
    -H "X-Forwarded-Host: 127.0.0.1:$P_NGINX" -H "X-Forwarded-Uri: /app/index.html")"
read -r kp_rps kp_p99 kp_bad _ <<<"$(CONNS=1000 measure "http://127.0.0.1:$P_GATE_PROXY/app/index.html" -H "Authorization: SSO $PROXY_TICKET")"
printf '%-34s %10s req/s  p99 %s  (non-2xx: %s)\n' "sso-gate /auth-request (direct)" "$kf_rps" "$kf_p99" "$kf_bad"
printf '%-34s %10s req/s  p99 %s  (non-2xx: %s)\n' "sso-gate upstream" "$kp_rps" "$kp_p99" "$kp_bad"

echo "== peak RSS"
for pair in "forward-auth:$GATE_PID" "reverse proxy:$PROXY_PID"; do
    printf '%-34s %s\n' "sso-gate (${pair%%:*})" "$(awk '/VmHWM/ {print $2, $3}' "/proc/${pair##*:}/status")"
done
