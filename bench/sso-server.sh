#!/usr/bin/env bash
# Login server throughput, printed side by side, never asserted:
#   - /healthz                 the HTTP stack's ceiling (no crypto)
#   - silent tickets           valid session cookie -> 302 with a fresh ticket
#                              (cookie open + Ed25519 signature + log line)
#   - logins                   POST /login with the default password hash
#   - silent tickets by throttle store: the same run against a server with
#     `[throttle] store = "memory"` and one with a throwaway redis-server
#     (silent tickets do not touch the throttle: the figures should match)
#   - logins with TOTP         POST /login, then POST /second-factor with a
#                              code from oathtool, for a service that a
#                              [[second_factor]] table covers (its own server:
#                              see totp_logins below), beside password-only
#                              logins made by the same curl client
#   - OpenID Connect (its own server, same keys and session): silent
#     authorizations (cookie -> 302 with a code), code exchanges and
#     refreshes at POST /oidc/token (a public PKCE client, so no argon2:
#     the RS256 signatures of the access and id tokens dominate), beside
#     openssl's raw RSA-2048 sign rate
# Load generator: wrk on 127.0.0.1, sharing the machine's cores with the
# server (so the figures are a lower bound on a dedicated host).
# Usage: bench/sso-server.sh [SECONDS] [CONNECTIONS]
set -euo pipefail

secs="${1:-10}"
conns="${2:-64}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bench/lib.sh"
target="${CARGO_TARGET_DIR:-$root/target}"
for tool in wrk curl openssl redis-server oathtool python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/setup installs it)" >&2; exit 1; }
done

echo "bench: building sso-server (release)..." >&2
(cd "$root" && cargo build --release -q -p sso-server)
server="$target/release/sso-server"

work="$(mktemp -d)"
pid=""
redis_pid=""
redis_server_pid=""
cleanup() {
  for p in "$pid" "$redis_server_pid" "$redis_pid" "${oidc_pid:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

openssl genpkey -algorithm ed25519 -out "$work/secret.pem" 2>/dev/null
chmod 600 "$work/secret.pem"
openssl pkey -in "$work/secret.pem" -pubout -out "$work/public.pem" 2>/dev/null
echo "bench-password" | "$server" user add --users-file "$work/users" bench --groups staff 2>/dev/null

# server_config PORT DIR [LINES]: a bench server's configuration: users from
# DIR/users, LINES (more [auth] keys, then sections) before a throttle that
# never locks the bench out.
server_config() {
  cat <<EOF
domain = "bench.example.org"
listen = "127.0.0.1:$1"
secret_key_file = "$work/secret.pem"
public_key_files = ["$work/public.pem"]
allowed_services = ['[a-z0-9.-]+\.example\.org/']
[session]
secrets = ["$(openssl rand -base64 32)"]
[auth]
backend = "users_file"
users_file = "$2/users"
${3:-}
[throttle]
max_failures_per_user = 1000000
max_failures_per_user_address = 1000000
max_failures_per_address = 1000000
EOF
}

port="$(free_port)"
server_config "$port" "$work" >"$work/sso-server.toml"
# The event log (one line per ticket) goes to a file, as in production.
"$server" --config "$work/sso-server.toml" 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

base="http://127.0.0.1:$port"
ask="/?s=wiki.bench.example.org/&d=https%3A%2F%2Fwiki.bench.example.org%2F&n=benchnonce"
# Cookies from the headers, not a curl jar: the server's cookies are
# `__Host-` and `Secure`, which a jar keeps only for https.
form="$(curl -fs -D "$work/form.headers" "$base$ask")"
csrf="$(printf '%s' "$form" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')"
csrf_cookie="$(sed -n 's/^[Ss]et-[Cc]ookie: __Host-sso_csrf=\([^;]*\);.*/\1/p' "$work/form.headers" | tr -d '\r')"
login_body="csrf=$csrf&s=wiki.bench.example.org%2F&d=&n=benchnonce&g=&username=bench&password=bench-password"
session="$(curl -s -o /dev/null -D - -H "Cookie: __Host-sso_csrf=$csrf_cookie" --data "$login_body" "$base/login" \
  | sed -n 's/^[Ss]et-[Cc]ookie: __Host-sso_session=\([^;]*\);.*/\1/p' | tr -d '\r')"
[ -n "$session" ] || { echo "bench: could not log in" >&2; cat "$work/server.log" >&2; exit 1; }

rps() { awk '/Requests\/sec/{print $2}'; }
lat() { awk '/Latency/{print $2}'; }

run_wrk() { wrk -t1 -c"$1" -d"${secs}s" "${@:2}"; }

echo "bench: $secs s per run, wrk -t1, 2 cores shared by server and wrk" >&2
hz="$(run_wrk "$conns" "$base/healthz")"
silent="$(run_wrk "$conns" -H "Cookie: __Host-sso_session=$session" "$base$ask")"
cat >"$work/login.lua" <<EOF
wrk.method = "POST"
wrk.body = "$login_body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "__Host-sso_csrf=$csrf_cookie"
EOF
logins="$(run_wrk 4 -s "$work/login.lua" "$base/login")"

# Check that the silent runs really were tickets, not error pages.
check="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-sso_session=$session" "$base$ask")"
cost="$(grep -c 'event=ticket' "$work/server.log" || true)"

printf '\n%-34s %14s %12s\n' "what (sso-server, release)" "requests/s" "latency avg"
printf '%-34s %14s %12s\n' "GET /healthz (HTTP ceiling)" "$(echo "$hz" | rps)" "$(echo "$hz" | lat)"
printf '%-34s %14s %12s\n' "silent ticket (cookie -> 302)" "$(echo "$silent" | rps)" "$(echo "$silent" | lat)"
printf '%-34s %14s %12s\n' "login (POST /login, 4 conns)" "$(echo "$logins" | rps)" "$(echo "$logins" | lat)"

# Silent tickets/s with each throttle store, side by side: a second server
# with the same configuration and keys (so the session cookie is valid on
# both) whose counts live in a redis-server of its own on loopback.
silent_by_store() {
  local rport sport out_mem out_redis
  rport="$(free_port)"
  sport="$(free_port)"
  mkdir -p "$work/redis"
  redis-server --bind 127.0.0.1 --port "$rport" --dir "$work/redis" --save "" --appendonly no \
    --maxmemory-policy noeviction >"$work/redis/log" 2>&1 &
  redis_pid=$!
  sed -e "s/^listen = .*/listen = \"127.0.0.1:$sport\"/" \
      -e "s|^\[throttle\]|[throttle]\nstore = \"redis://127.0.0.1:$rport/\"|" \
      "$work/sso-server.toml" >"$work/sso-server-redis.toml"
  "$server" --config "$work/sso-server-redis.toml" 2>"$work/server-redis.log" &
  redis_server_pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$sport/healthz" >/dev/null && break; sleep 0.1; done
  out_mem="$(run_wrk "$conns" -H "Cookie: __Host-sso_session=$session" "$base$ask")"
  out_redis="$(run_wrk "$conns" -H "Cookie: __Host-sso_session=$session" "http://127.0.0.1:$sport$ask")"
  local check_redis
  check_redis="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-sso_session=$session" "http://127.0.0.1:$sport$ask")"
  printf '\n%-34s %14s %12s\n' "silent tickets by throttle store" "requests/s" "latency avg"
  printf '%-34s %14s %12s\n' "store = \"memory\"" "$(echo "$out_mem" | rps)" "$(echo "$out_mem" | lat)"
  printf '%-34s %14s %12s\n' "store = \"redis://...\"" "$(echo "$out_redis" | rps)" "$(echo "$out_redis" | lat)"
  printf '(silent tickets never touch the throttle; redis server silent answer status: %s)\n' "$check_redis"
}
silent_by_store
# Logins with TOTP. Each code is accepted once per user (replay refusal),
# so every login is a different enrolled user; wrk cannot compute codes, so
# the client is curl, 4 logins at a time, and the password-only figure
# beside it is measured by the same client. Its own server and config, so
# the figures above are untouched. Prints two table rows.
totp_logins() {
  local n=48 dir="$work/totp" tport
  mkdir -p "$dir"
  for i in $(seq 0 $((n - 1))); do
    echo "bench-password" | "$server" user add --users-file "$dir/users" "t$i" 2>/dev/null
    "$server" user totp enroll --totp-file "$dir/totp" "t$i" >/dev/null 2>&1
  done
  tport="$(free_port)"
  server_config "$tport" "$dir" "totp_file = \"$dir/totp\"
[[second_factor]]
services = ['admin\\.bench\\.example\\.org/']" >"$dir/sso-server.toml"
  (
    "$server" --config "$dir/sso-server.toml" 2>"$dir/server.log" &
    tpid=$!
    trap 'kill $tpid 2>/dev/null' EXIT
    export TBASE="http://127.0.0.1:$tport" TDIR="$dir"
    for _ in $(seq 100); do curl -fs "$TBASE/healthz" >/dev/null && break; sleep 0.1; done
    curl -fs -D "$dir/form.headers" "$TBASE/?s=admin.bench.example.org/" >"$dir/form.html"
    TCSRF="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$dir/form.html")"
    TCOOKIE="$(sed -n 's/^[Ss]et-[Cc]ookie: __Host-sso_csrf=\([^;]*\);.*/\1/p' "$dir/form.headers" | tr -d '\r')"
    export TCSRF TCOOKIE
    # One login of user $1 to service $2 (admin: with the code); prints the
    # final status (302: a ticket).
    one_login() {
      local resp session code
      resp="$(curl -s -o /dev/null -D - -H "Cookie: __Host-sso_csrf=$TCOOKIE" \
        --data "csrf=$TCSRF&s=$2.bench.example.org%2F&d=&n=&g=&username=$1&password=bench-password" "$TBASE/login")"
      if [ "$2" != admin ]; then
        printf '%s\n' "$resp" | sed -n 's/^HTTP[^ ]* \([0-9]*\).*/\1/p'
        return
      fi
      session="$(printf '%s\n' "$resp" | sed -n 's/^[Ss]et-[Cc]ookie: __Host-sso_session=\([^;]*\);.*/\1/p' | tr -d '\r')"
      code="$(oathtool --totp -b "$(sed -n "s/^$1://p" "$TDIR/totp")")"
      curl -s -o /dev/null -w '%{http_code}\n' -H "Cookie: __Host-sso_csrf=$TCOOKIE; __Host-sso_session=$session" \
        --data "csrf=$TCSRF&s=admin.bench.example.org%2F&d=&n=&g=&code=$code" "$TBASE/second-factor"
    }
    export -f one_login
    # $1 = service, the users on stdin; prints "logins/s ok-count".
    timed() {
      local t0 t1 ok
      t0="$(date +%s.%N)"
      ok="$(xargs -P 4 -I{} bash -c "one_login {} $1" | grep -c '^302$' || true)"
      t1="$(date +%s.%N)"
      awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f %d\n", n / (b - a), n }'
    }
    # Warm-up, not counted (the first logins of a fresh process are slower).
    seq 0 7 | sed 's/^/t/' | timed wiki >/dev/null
    read -r pw_rps pw_ok < <(seq 0 $((n - 1)) | sed 's/^/t/' | timed wiki)
    read -r totp_rps totp_ok < <(seq 0 $((n - 1)) | sed 's/^/t/' | timed admin)
    printf '%-34s %14s %12s\n' "login, password only (curl, 4 par)" "$pw_rps" "$pw_ok/$n ok"
    printf '%-34s %14s %12s\n' "login + TOTP (curl, 4 par)" "$totp_rps" "$totp_ok/$n ok"
  )
}
totp_logins

# OpenID Connect: a server of its own with [oidc] (the same keys and
# session secrets, so the session cookie above logs in there too). Codes
# are single-use: the silent authorization run writes the codes it gets
# (wrk's Lua, one file), the exchange run redeems them in order; each of
# the refresh run's connections keeps rotating a token family of its own.
# Prints a table; failed answers are counted, never asserted.
oidc_tokens() {
  local dir="$work/oidc" oport ofile obase verifier challenge cb q ask_oidc i code rt refresh_conns=16
  mkdir -p "$dir"
  "$server" oidc gen-key --output "$dir/oidc.pem" >/dev/null 2>&1
  oport="$(free_port)"
  cb="http%3A%2F%2F127.0.0.1%3A9%2Fcb"
  # RFC 7636 appendix B.
  verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
  challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
  sed -e "s/^listen = .*/listen = \"127.0.0.1:$oport\"/" "$work/sso-server.toml" >"$dir/sso-server.toml"
  cat >>"$dir/sso-server.toml" <<TOML
[oidc]
issuer = "http://127.0.0.1:$oport"
signing_key_file = "$dir/oidc.pem"
[[oidc.client]]
id = "bench"
public = true
redirect_uris = ["http://127.0.0.1:9/cb"]
TOML
  "$server" --config "$dir/sso-server.toml" 2>"$dir/server.log" &
  oidc_pid=$!
  obase="http://127.0.0.1:$oport"
  for _ in $(seq 100); do curl -fs "$obase/healthz" >/dev/null && break; sleep 0.1; done
  ask_oidc="/oidc/authorize?client_id=bench&redirect_uri=$cb&response_type=code&scope=openid%20offline_access&code_challenge=$challenge&code_challenge_method=S256"
  cat >"$dir/authorize.lua" <<LUA
local f = io.open("$dir/codes", "w")
f:setvbuf("line")
response = function(status, headers, body)
  local l = headers["location"] or headers["Location"]
  local c = l and l:match("[?&]code=([^&]+)")
  if status == 302 and c then f:write(c, "\n") end
end
LUA
  local silent_oidc exchange refresh
  silent_oidc="$(run_wrk "$conns" -s "$dir/authorize.lua" -H "Cookie: __Host-sso_session=$session" "$obase$ask_oidc")"
  cat >"$dir/exchange.lua" <<LUA
local codes = {}
for l in io.lines("$dir/codes") do codes[#codes + 1] = l end
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/oidc/token", { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=authorization_code&client_id=bench&redirect_uri=$cb&code_verifier=$verifier&code=" .. (codes[i] or "none-left"))
end
LUA
  exchange="$(run_wrk "$conns" -s "$dir/exchange.lua" "$obase/oidc/token")"
  # A refresh token family per connection of the refresh run, and a few
  # spare (a connection wrk opens again loses the token it had in flight).
  : >"$dir/refresh"
  for i in $(seq $((refresh_conns + 8))); do
    code="$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: __Host-sso_session=$session" "$obase$ask_oidc" \
      | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')"
    rt="$(curl -s --data "grant_type=authorization_code&client_id=bench&redirect_uri=$cb&code_verifier=$verifier&code=$code" \
      "$obase/oidc/token" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p')"
    [ -n "$rt" ] && echo "$rt" >>"$dir/refresh"
  done
  cat >"$dir/refresh.lua" <<LUA
local q = {}
for l in io.lines("$dir/refresh") do q[#q + 1] = l end
request = function()
  local t = table.remove(q, 1) or "none-left"
  return wrk.format("POST", "/oidc/token", { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=refresh_token&client_id=bench&refresh_token=" .. t)
end
response = function(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then q[#q + 1] = t end
end
LUA
  refresh="$(run_wrk "$refresh_conns" -s "$dir/refresh.lua" "$obase/oidc/token")"
  local rsa
  rsa="$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/{print $6}')"
  refused() { awk '/Non-2xx or 3xx/{print $5; f=1} END{if(!f) print 0}'; }
  printf '\n%-34s %14s %12s %9s\n' "OpenID Connect (public client)" "requests/s" "latency avg" "refused"
  printf '%-34s %14s %12s %9s\n' "silent authorization (-> code)" "$(echo "$silent_oidc" | rps)" "$(echo "$silent_oidc" | lat)" "-"
  printf '%-34s %14s %12s %9s\n' "code exchange (2 x RS256)" "$(echo "$exchange" | rps)" "$(echo "$exchange" | lat)" "$(echo "$exchange" | refused)"
  printf '%-34s %14s %12s %9s\n' "refresh, $refresh_conns conns (2 x RS256)" "$(echo "$refresh" | rps)" "$(echo "$refresh" | lat)" "$(echo "$refresh" | refused)"
  printf '%-34s %14s\n' "raw RSA-2048 signs/s (openssl, 1 core)" "${rsa:-?}"
  printf '(codes issued by the silent run: %s; a refused exchange is a run that outlasted them)\n' "$(wc -l <"$dir/codes")"
}
oidc_pid=""
oidc_tokens

printf '\npassword hash: argon2id, crate defaults m=19456 KiB t=2 p=1 (OWASP)\n'
printf 'target: >= 10000 silent tickets/s on 2 cores; silent answer status: %s; ticket log lines: %s\n' "$check" "$cost"
