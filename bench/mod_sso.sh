#!/usr/bin/env bash
# mod_sso benchmark: one private httpd (mpm_event, one child) pinned to one
# core, wrk pinned to the other; prints figures, never asserts.
#
# Locations: /open/ (no auth), /floor/ (the least any authentication
# module behind `Require valid-user` costs: bench/floor_authn.c, built here,
# names a user and returns; warm mode only), /sso/ (mod_sso), /pubtkt/ (Debian's
# libapache2-mod-auth-pubtkt, RSA-2048) and /tkt/ (mod_auth_tkt, unpacked
# from its .deb with dpkg-deb -x because the two peer packages conflict).
# Client modes: warm (one ticket), rotate (8192 distinct valid tickets
# cycled), cold (every request a never-seen ticket). wrk rounds of all
# (mode, location) pairs are interleaved; each figure is the median req/s of
# ROUNDS rounds, with its ratio to /open/ in the same mode. /open/ and
# /floor/ are sent /sso/'s cookies (no module reads them there), so /sso/'s
# ratio is the module's cost alone, not a longer request's; the peers'
# tickets have lengths of their own. Also printed: the
# raw Ed25519 verification rate on one core (examples/raw_verify) and the
# cold-mode bound it implies, and the RSS of the httpd child after the
# rotate runs (the verification cache is bounded by SSOCacheSize).
#
# Usage: bench/mod_sso.sh [--quick]     (env: DURATION ROUNDS CONNS; MODES,
# e.g. "warm", to run only some modes; MOD_SSO_SO, a module built
# elsewhere, e.g. from an older commit, to measure instead of this tree's)
# Needs: apache2, wrk, python3-cryptography, openssl, taskset; run as root.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-16}
ROTATE_TICKETS=8192
COLD_TICKETS=${COLD_TICKETS:-150000}
# RSA signing in Python is slow: pubtkt's cold pool is smaller (reported).
COLD_PUBTKT_TICKETS=${COLD_PUBTKT_TICKETS:-20000}
if [ "${1:-}" = "--quick" ]; then
    DURATION=2 ROUNDS=1 COLD_TICKETS=60000 COLD_PUBTKT_TICKETS=5000
fi
CPU_HTTPD=0
CPU_WRK=1
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (httpd on one, wrk on the other)"; CPU_WRK=0; }

echo "== building (release)"
(cd "$ROOT" && cargo build --release -q -p mod_sso --lib --example raw_verify)
SO=${MOD_SSO_SO:-$TARGET/release/libmod_sso.so}
MODES=${MODES:-warm rotate cold}
RAW_VERIFY=$TARGET/release/examples/raw_verify

WORK=$(mktemp -d /tmp/mod_sso_bench.XXXXXX)
chmod 755 "$WORK"
HTTPD_PID=
cleanup() {
    stop_pid "$HTTPD_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- peers
PUBTKT_SO=$MODULES/mod_auth_pubtkt.so
[ -f "$PUBTKT_SO" ] || { echo "(mod_auth_pubtkt missing: apt-get install libapache2-mod-auth-pubtkt; /pubtkt skipped)"; PUBTKT_SO=; }
TKT_CACHE=${TKT_CACHE:-/var/cache/mod_sso_bench}
TKT_SO=$TKT_CACHE/usr/lib/apache2/modules/mod_auth_tkt.so
if [ ! -f "$TKT_SO" ]; then
    mkdir -p "$TKT_CACHE"
    if (cd "$TKT_CACHE" && apt-get download -q libapache2-mod-auth-tkt >/dev/null 2>&1 \
        && dpkg-deb -x libapache2-mod-auth-tkt_*.deb .); then :; else
        echo "(mod_auth_tkt could not be downloaded; /tkt skipped)"
    fi
fi
[ -f "$TKT_SO" ] || TKT_SO=
FLOOR_SO=$WORK/mod_floor_authn.so
# shellcheck disable=SC2046 # apr-1-config prints several flags
gcc -Wall -Werror -shared -fPIC -O2 $(apxs -q CFLAGS) -I"$(apxs -q INCLUDEDIR)" \
    $(apr-1-config --includes --cppflags) -o "$FLOOR_SO" "$ROOT/bench/floor_authn.c" \
    || { echo "(bench/floor_authn.c did not build: /floor skipped)"; FLOOR_SO=; }

# ---- keys and tickets
openssl genpkey -algorithm ed25519 -out "$WORK/sso_secret.pem" 2>/dev/null
openssl pkey -in "$WORK/sso_secret.pem" -pubout -out "$WORK/sso_public.pem"
openssl genrsa -out "$WORK/pubtkt_secret.pem" 2048 2>/dev/null
openssl rsa -in "$WORK/pubtkt_secret.pem" -pubout -out "$WORK/pubtkt_public.pem" 2>/dev/null
TKT_SECRET=$(openssl rand -hex 24)
PORT=$(free_port)
SERVICE=127.0.0.1:$PORT/sso/
DOMAIN=bench.example
GEN="python3 $ROOT/bench/mod_sso_tickets.py"

gen() { # gen LOCATION FILE COUNT TAG
    case $1 in
        sso) $GEN sso "$2" "$3" "$WORK/sso_secret.pem" "$SERVICE" "$DOMAIN" 7200 "$4" ;;
        pubtkt) $GEN pubtkt "$2" "$3" "$WORK/pubtkt_secret.pem" 7200 "$4" ;;
        tkt) $GEN tkt "$2" "$3" "$TKT_SECRET" 7200 "$4" ;;
        # The same requests as /sso/'s, byte for byte: the ratio is the
        # module's cost, not that of a longer Cookie header.
        open | floor) gen sso "$2" "$3" "$4" ;;
    esac
}
cookie_name() {
    case $1 in sso | open | floor) echo SSO_ticket ;; pubtkt) echo auth_pubtkt ;; tkt) echo auth_tkt ;; *) echo none ;; esac
}

LOCATIONS="open"
[ -n "$FLOOR_SO" ] && LOCATIONS="$LOCATIONS floor"
LOCATIONS="$LOCATIONS sso"
[ -n "$PUBTKT_SO" ] && LOCATIONS="$LOCATIONS pubtkt"
[ -n "$TKT_SO" ] && LOCATIONS="$LOCATIONS tkt"
echo "== tickets"
for loc in $LOCATIONS; do
    gen "$loc" "$WORK/$loc.warm" 1 w
    gen "$loc" "$WORK/$loc.rotate" $ROTATE_TICKETS r
done

# ---- httpd
mkdir -p "$WORK/run" "$WORK/htdocs"
for loc in $LOCATIONS; do mkdir -p "$WORK/htdocs/$loc"; echo "hello" > "$WORK/htdocs/$loc/index.html"; done
{
    httpd_head "$WORK" "$PORT"
    httpd_user
    cat <<EOF
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
# One child: every request shares one verification cache, and its RSS is
# the figure printed after the rotate runs.
StartServers 1
ServerLimit 1
ThreadsPerChild 64
ThreadLimit 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAliveTimeout 30
MaxKeepAliveRequests 0
EOF
    # Both peers export a global dump_config: pubtkt first.
    [ -n "$PUBTKT_SO" ] && echo "LoadModule auth_pubtkt_module $PUBTKT_SO"
    [ -n "$TKT_SO" ] && echo "LoadModule auth_tkt_module $TKT_SO"
    httpd_site "$MODULES" "$WORK" "$SO"
    if [ -n "$FLOOR_SO" ]; then cat <<EOF
LoadModule floor_authn_module $FLOOR_SO
<Location /floor/>
  AuthType Floor
  Require valid-user
</Location>
EOF
    fi
    sso_site "$DOMAIN" "$WORK/sso_public.pem" "$SERVICE"
    if [ -n "$PUBTKT_SO" ]; then cat <<EOF
# No TKTAuthLoginURL here: with both peers loaded that name goes to mod_auth_tkt.
<Location /pubtkt/>
  AuthType mod_auth_pubtkt
  TKTAuthPublicKey $WORK/pubtkt_public.pem
  TKTAuthDigest SHA1
  Require valid-user
</Location>
EOF
    fi
    if [ -n "$TKT_SO" ]; then cat <<EOF
TKTAuthSecret "$TKT_SECRET"
<Location /tkt/>
  AuthType None
  TKTAuthLoginURL https://login.bench.example/
  TKTAuthIgnoreIP on
  TKTAuthTimeout 1d
  TKTAuthTimeoutRefresh 0
  Require valid-user
</Location>
EOF
    fi
} > "$WORK/httpd.conf"

taskset -c $CPU_HTTPD setsid /usr/sbin/apache2 -d "$WORK" -f "$WORK/httpd.conf" -DFOREGROUND &
HTTPD_PID=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/open/" && break
    kill -0 $HTTPD_PID 2>/dev/null || { cat "$WORK/error.log"; exit 1; }
    sleep 0.1
done

# ---- sanity: each location answers 200 with its ticket and refuses without
OK_LOCATIONS=
for loc in $LOCATIONS; do
    with=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(cookie_name $loc)=$(head -1 "$WORK/$loc.warm")" "http://127.0.0.1:$PORT/$loc/")
    without=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/$loc/")
    echo "   /$loc/: with ticket $with, without $without"
    if [ "$with" = 200 ]; then OK_LOCATIONS="$OK_LOCATIONS $loc"; else echo "   (/$loc/ skipped: the ticket is not accepted)"; fi
done
LOCATIONS=$OK_LOCATIONS

cat > "$WORK/tickets.lua" <<'EOF'
-- One Cookie per request, cycling through the lines of WRK_TICKETS.
local tickets = {}
local i = 0
local path = os.getenv("WRK_PATH")
local prefix = os.getenv("WRK_COOKIE") .. "="
init = function(args)
    for line in io.lines(os.getenv("WRK_TICKETS")) do tickets[#tickets + 1] = line end
end
request = function()
    i = i + 1
    return wrk.format("GET", path, { ["Cookie"] = prefix .. tickets[((i - 1) % #tickets) + 1] })
end
EOF

# CPU time (user + system, clock ticks) of the httpd children so far.
child_cpu_ticks() {
    local t=0 p
    for p in $(pgrep -P "$HTTPD_PID" || true); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo $t
}
CLK_TCK=$(getconf CLK_TCK)

run_wrk() { # run_wrk LOCATION TICKETFILE -> prints "reqs_per_s total_requests cpu_us_per_request"
    local out cpu_before cpu_after
    cpu_before=$(child_cpu_ticks)
    out=$(WRK_PATH=/$1/ WRK_COOKIE=$(cookie_name "$1") WRK_TICKETS=$2 \
        taskset -c $CPU_WRK wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WORK/tickets.lua" \
        "http://127.0.0.1:$PORT/$1/" 2>&1)
    local rps total non2xx
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    if [ -n "$non2xx" ]; then echo "   warning: /$1/ had $non2xx non-2xx answers" >&2; fi
    cpu_after=$(child_cpu_ticks)
    local us
    us=$(awk -v d=$((cpu_after - cpu_before)) -v n="${total:-0}" -v hz="$CLK_TCK" \
        'BEGIN { if (n > 0) printf "%.2f", d * 1e6 / hz / n; else print 0 }')
    echo "${rps:-0} ${total:-0} $us"
}

child_rss() {
    local pids
    pids=$(pgrep -P "$HTTPD_PID" || true)
    for p in $pids; do echo "$p $(awk '/VmRSS/ {print $2, $3}' /proc/$p/status)"; done
}

declare -A RESULTS CPU_US
RSS_AFTER_ROTATE=
# Steady state for rotate: one unrecorded pass so every cache (ours and the
# peers') has seen the 8192 tickets once.
echo "== warm-up: one pass over the rotate tickets"
for loc in $LOCATIONS; do
    { [ "$loc" = open ] || [ "$loc" = floor ]; } && continue
    DURATION_SAVE=$DURATION
    DURATION=3
    run_wrk "$loc" "$WORK/$loc.rotate" > /dev/null
    DURATION=$DURATION_SAVE
done
echo "== $ROUNDS round(s) of ${DURATION}s per (mode, location), $CONNS connections"
for round in $(seq "$ROUNDS"); do
    for mode in $MODES; do
        for loc in $LOCATIONS; do
            [ "$loc" = floor ] && [ "$mode" != warm ] && continue
            file=$WORK/$loc.$mode
            if [ "$mode" = cold ]; then
                count=$COLD_TICKETS
                [ "$loc" = pubtkt ] && count=$COLD_PUBTKT_TICKETS
                [ "$loc" = open ] && count=1
                file=$WORK/$loc.cold.$round
                gen "$loc" "$file" "$count" "c$round"
            fi
            read -r rps total us < <(run_wrk "$loc" "$file")
            RESULTS[$mode.$loc]="${RESULTS[$mode.$loc]:-} $rps"
            CPU_US[$mode.$loc]="${CPU_US[$mode.$loc]:-} $us"
            if [ "$mode" = cold ] && [ "$loc" != open ] && [ "${total%.*}" -gt "$count" ] 2>/dev/null; then
                echo "   note: cold /$loc/ round $round made $total requests with $count fresh tickets (the rest were repeats)"
            fi
            printf '   round %d %-6s /%-6s %10s req/s %8s us cpu/req\n' "$round" "$mode" "$loc/" "$rps" "$us"
            rm -f "$WORK/$loc.cold.$round"
        done
        if [ "$mode" = rotate ]; then RSS_AFTER_ROTATE=$(child_rss); fi
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }

RAW=$(taskset -c $CPU_HTTPD "$RAW_VERIFY")
echo
# table ARRAY AWK FORMAT: a row per mode, a column per location: the median
# of ARRAY[MODE.LOCATION] and AWK's figure of it (a) against /open/'s (b).
table() {
    local -n figures=$1
    local mode loc open m
    printf '%-7s' mode; for loc in $LOCATIONS; do printf '%22s' "/$loc/"; done; echo
    for mode in $MODES; do
        open=$(echo "${figures[$mode.open]}" | median)
        printf '%-7s' "$mode"
        for loc in $LOCATIONS; do
            m=$(echo "${figures[$mode.$loc]}" | median)
            # shellcheck disable=SC2059 # the format is the caller's
            printf "$3" "$m" "$(awk -v a="$m" -v b="$open" "BEGIN { $2 }")"
        done
        echo
    done
}
echo "== results (median req/s; ratio to /open/ in the same mode)"
table RESULTS 'if (b > 0) printf "%.2f", a / b; else print "-"' '%15s (%4s)'
echo
echo "== httpd child CPU per request (median us; extra over /open/ in the same mode)"
echo "   (robust against other load on the machine, unlike req/s)"
table CPU_US 'printf "%+.2f", a - b' '%13s (%6s)'
open_cold=$(echo "${RESULTS[cold.open]:-}" | median)
sso_cold=$(echo "${RESULTS[cold.sso]:-}" | median)
bound=$(awk -v o="$open_cold" -v v="$RAW" 'BEGIN { if (o > 0 && v > 0) printf "%.0f", 1 / (1 / o + 1 / v); else print 0 }')
echo
echo "raw Ed25519 verify on one core: $RAW /s"
echo "cold bound (an /open/ request plus one raw verification): $bound req/s"
awk -v s="$sso_cold" -v b="$bound" 'BEGIN { if (b > 0) printf "/sso/ cold vs bound: %.2f (target >= 0.90)\n", s / b }'
echo "targets (issue 20): warm >= 0.95 of /open/ (/floor/: what any module behind Require valid-user can reach); rotate >= 0.95"
echo "httpd child RSS after the rotate runs (SSOCacheSize default 16384):"
echo "${RSS_AFTER_ROTATE:-  (no child found)}" | sed 's/^/   pid /'
