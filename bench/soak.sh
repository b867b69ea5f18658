#!/usr/bin/env bash
# Apache soak (docs/reliability.md, part 1): a private httpd with mod_sso on
# 127.0.0.1, once under mpm_event and once under mpm_prefork, SOAK_MINUTES
# each of mixed wrk traffic (bench/soak_traffic.lua: warm and never-seen
# valid cookies, Authorization tickets, expired, forged, wrong service,
# garbage cookies and headers up to and past the size limits, no ticket,
# sso_login with good and bad nonces), a graceful restart every 30 s, and
# halfway one that adds a second public key (tickets signed with it are
# refused before, accepted after). Prints figures, never asserts:
#   requests by class and status (from the access log, which records the
#   class header and the status, never a ticket); valid requests refused;
#   5xx; crashed children (error log "exit signal"); child RSS and open
#   file descriptors every 10 s; wrk's own totals and socket errors.
#
# Usage: bench/soak.sh     (env: SOAK_MINUTES=20 SOAK_MPMS="event prefork"
#        SOAK_GRACEFUL_EVERY=30 CONNS=16 THREADS=2
#        SOAK_SO=path/to/libmod_sso.so)
# Needs: apache2, wrk, python3-cryptography, openssl; run as root.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
SOAK_MINUTES=${SOAK_MINUTES:-20}
SOAK_MPMS=${SOAK_MPMS:-event prefork}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
# 0: no periodic restarts (only the key change halfway), to read RSS over
# long-lived children.
GRACEFUL_EVERY=${SOAK_GRACEFUL_EVERY:-30}
SAMPLE_EVERY=10
DURATION=$((SOAK_MINUTES * 60))
# sso_login accepts a ticket once: fresh ones for about 200 logins/s (the
# traffic mix's share at ~20k req/s); once a thread has used its slice,
# its good-nonce logins are replays (class login_replay).
LOGIN_TICKETS=${SOAK_LOGIN_TICKETS:-$((DURATION * 200))}
DOMAIN=soak.example

if [ -z "${SOAK_SO:-}" ]; then
    echo "== building mod_sso (release)"
    (cd "$ROOT" && cargo build --release -q -p mod_sso --lib)
    SOAK_SO=$TARGET/release/libmod_sso.so
fi

WORK=$(mktemp -d /tmp/mod_sso_soak.XXXXXX)
chmod 755 "$WORK"
HTTPD_PID=
WRK_PID=
stop_httpd() {
    stop_pid "$HTTPD_PID" 100
    HTTPD_PID=
}
cleanup() {
    [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
    stop_httpd
    rm -rf "$WORK"
}
trap cleanup EXIT

openssl genpkey -algorithm ed25519 -out "$WORK/k1_secret.pem" 2>/dev/null
openssl pkey -in "$WORK/k1_secret.pem" -pubout -out "$WORK/k1_public.pem"
openssl genpkey -algorithm ed25519 -out "$WORK/k2_secret.pem" 2>/dev/null
openssl pkey -in "$WORK/k2_secret.pem" -pubout -out "$WORK/k2_public.pem"

# make_tickets DIR SERVICE: the ticket files bench/soak_traffic.lua reads.
make_tickets() {
    python3 - "$1" "$2" "$DOMAIN" "$WORK" "$((DURATION + 3600))" "$LOGIN_TICKETS" <<'EOF'
import base64, hashlib, os, sys, time, urllib.parse
from cryptography.hazmat.primitives import serialization
out, service, domain, work, ttl, logins = sys.argv[1:7]
ttl, logins = int(ttl), int(logins)
load = lambda n: serialization.load_pem_private_key(open(f"{work}/{n}_secret.pem", "rb").read(), None)
k1, k2 = load("k1"), load("k2")
now = int(time.time())
def ticket(key, user, svc=service, expires=now + ttl, nonce=""):
    content = f"4|{user}|{svc}|{domain}|{expires}|{nonce}|".encode()
    return base64.urlsafe_b64encode(key.sign(content) + content).decode()
def commitment(secret):
    # What the login server is asked for when the browser's nonce cookie
    # holds `secret` (sso_core::web::nonce_commitment, docs/protocol.md).
    return hashlib.sha256(b"sso nonce commitment v1\0" + secret.encode()).digest()[:16].hex()
def forge(t):
    raw = bytearray(base64.urlsafe_b64decode(t))
    raw[10] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()
def write(name, items):
    with open(f"{out}/{name}", "w") as f:
        f.writelines(i + "\n" for i in items)
write("warm", [ticket(k1, f"warm{i}") for i in range(4)])
write("fresh", [ticket(k1, f"fresh{i}") for i in range(20000)])
write("expired", [ticket(k1, f"old{i}", expires=now - 600) for i in range(64)])
write("forged", [forge(ticket(k1, f"forged{i}")) for i in range(64)])
write("wrong_service", [ticket(k1, f"other{i}", svc="other.soak.example/") for i in range(64)])
write("newkey", [ticket(k2, f"new{i}") for i in range(64)])
lines = []
for i in range(logins):
    secret = os.urandom(16).hex()
    t = ticket(k1, f"login{i}", nonce=commitment(secret))
    lines.append(f"{secret} {urllib.parse.quote(t, safe='')}")
write("login", lines)
EOF
}

# write_conf DIR MPM PORT KEYFILES...
write_conf() {
    local dir=$1 mpm=$2 port=$3
    shift 3
    {
        httpd_head "$dir" "$port"
        httpd_user
        if [ "$mpm" = event ]; then cat <<EOF
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
StartServers 2
ServerLimit 4
ThreadsPerChild 16
ThreadLimit 16
MaxRequestWorkers 64
MaxConnectionsPerChild 0
EOF
        else cat <<EOF
LoadModule mpm_prefork_module $MODULES/mod_mpm_prefork.so
StartServers 4
MinSpareServers 2
MaxSpareServers 8
ServerLimit 24
MaxRequestWorkers 24
MaxConnectionsPerChild 0
EOF
        fi
        httpd_site "$MODULES" "$dir" "$SOAK_SO"
        cat <<EOF
# The class the client names and the status: never a ticket.
LogFormat "%{X-Soak-Class}i %>s" soak
CustomLog "$dir/access.log" soak
KeepAliveTimeout 30
MaxKeepAliveRequests 0
SSOLoginServer https://login.$DOMAIN/
SSODomain $DOMAIN
# Room for every binding of the run (about 100 bytes each), so that a
# replay is refused for as long as its generation lives.
SSOBindingCache "shmcb:$dir/run/sso-binding(268435456)"
EOF
        for k in "$@"; do echo "SSOPublicKeyFile $k"; done
        cat <<EOF
<Location /sso/>
  AuthType SSO
  SSOService 127.0.0.1:$port/sso/
  SSOCookieSecure Off
  Require valid-user
</Location>
EOF
    } > "$dir/httpd.conf"
}

generations() { grep -c "resuming normal operations" "$1/error.log" 2>/dev/null || true; }

# graceful DIR: SIGUSR1 to the parent, then wait (up to 30 s) for the new
# generation's "resuming normal operations".
graceful() {
    local before
    before=$(generations "$1")
    kill -USR1 "$HTTPD_PID"
    for _ in $(seq 300); do
        [ "$(generations "$1")" -gt "$before" ] && return 0
        sleep 0.1
    done
    echo "   (no new generation within 30 s)"
}

# sample DIR SECONDS: one line per child: time, pid, RSS kB, open fds.
sample() {
    local p
    for p in $(pgrep -P "$HTTPD_PID" || true); do
        [ -r "/proc/$p/status" ] || continue
        echo "$2 $p $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) $(ls "/proc/$p/fd" 2>/dev/null | wc -l)"
    done >> "$1/samples"
}

soak_one() {
    local mpm=$1 dir=$WORK/$1 port
    mkdir -p "$dir/run" "$dir/htdocs/sso" "$dir/tickets"
    echo hello > "$dir/htdocs/sso/index.html"
    port=$(free_port)
    echo "== mpm_$mpm: tickets ($LOGIN_TICKETS for sso_login)"
    make_tickets "$dir/tickets" "127.0.0.1:$port/sso/"
    chmod -R a+rX "$dir"
    write_conf "$dir" "$mpm" "$port" "$WORK/k1_public.pem"
    setsid /usr/sbin/apache2 -d "$dir" -f "$dir/httpd.conf" -DFOREGROUND &
    HTTPD_PID=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        kill -0 "$HTTPD_PID" 2>/dev/null || { cat "$dir/error.log"; exit 1; }
        sleep 0.1
    done
    local url=http://127.0.0.1:$port/sso/
    echo "   sanity: warm cookie $(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: SSO_ticket=$(head -1 "$dir/tickets/warm")" "$url"), no ticket $(curl -s -o /dev/null -w '%{http_code}' "$url")"
    : > "$dir/access.log"

    echo "== mpm_$mpm: ${SOAK_MINUTES} min, $THREADS wrk threads, $CONNS connections, graceful every ${GRACEFUL_EVERY}s (0: none), key added at $((DURATION / 2))s"
    SOAK_DIR=$dir/tickets SOAK_PATH=/sso/ SOAK_THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s \
        -s "$ROOT/bench/soak_traffic.lua" "$url" > "$dir/wrk.out" 2>&1 &
    WRK_PID=$!
    local start=$SECONDS t=0 key_changed= m1=0 m2=0 gracefuls=0
    local next_sample=0 next_graceful=$GRACEFUL_EVERY
    while kill -0 "$WRK_PID" 2>/dev/null; do
        sleep 1
        t=$((SECONDS - start))
        if [ "$t" -ge "$next_sample" ]; then
            sample "$dir" "$t"
            next_sample=$((next_sample + SAMPLE_EVERY))
        fi
        if [ -z "$key_changed" ] && [ "$t" -ge $((DURATION / 2)) ]; then
            key_changed=1
            m1=$(wc -l < "$dir/access.log")
            write_conf "$dir" "$mpm" "$port" "$WORK/k1_public.pem" "$WORK/k2_public.pem"
            graceful "$dir"
            gracefuls=$((gracefuls + 1))
            sleep 2
            m2=$(wc -l < "$dir/access.log")
        elif [ "$GRACEFUL_EVERY" -gt 0 ] && [ "$t" -ge "$next_graceful" ] && [ "$t" -lt "$DURATION" ]; then
            graceful "$dir"
            gracefuls=$((gracefuls + 1))
            next_graceful=$((next_graceful + GRACEFUL_EVERY))
        fi
    done
    wait "$WRK_PID" || true
    WRK_PID=
    stop_httpd
    report "$dir" "$mpm" "$m1" "$m2" "$gracefuls"
}

# report DIR MPM M1 M2 GRACEFULS: the figures of one run.
report() {
    local dir=$1 mpm=$2 m1=$3 m2=$4
    echo "-- mpm_$mpm figures"
    grep -E "requests in|Socket errors|Requests/sec|Non-2xx" "$dir/wrk.out" | sed 's/^ */   wrk: /'
    echo "   graceful restarts: $5 (generations logged: $(generations "$dir"))"
    echo "   requests by class and status (access log):"
    awk '{c[$1" "$2]++} END {for (k in c) print k, c[k]}' "$dir/access.log" | sort \
        | awk '{printf "     %-16s %s %9d\n", $1, $2, $3}'
    echo "   newkey before the key was added (expect 302): $(awk -v m="$m1" 'NR<=m && $1=="newkey" {c[$2]++} END {for (k in c) printf "%s:%d ", k, c[k]}' "$dir/access.log")"
    echo "   newkey during that restart (either):          $(awk -v a="$m1" -v b="$m2" 'NR>a && NR<=b && $1=="newkey" {c[$2]++} END {for (k in c) printf "%s:%d ", k, c[k]}' "$dir/access.log")"
    echo "   newkey after (expect 200):                    $(awk -v m="$m2" 'NR>m && $1=="newkey" {c[$2]++} END {for (k in c) printf "%s:%d ", k, c[k]}' "$dir/access.log")"
    local refused
    refused=$(awk -v m="$m2" '
        ($1=="warm" || $1=="fresh" || $1=="auth") && $2!=200 {n++}
        $1=="login_good" && $2!=302 {n++}
        NR>m && $1=="newkey" && $2!=200 {n++}
        END {print n+0}' "$dir/access.log")
    echo "   valid requests refused: $refused"
    echo "   5xx answers: $(awk '$2 ~ /^5/ {n++} END {print n+0}' "$dir/access.log")"
    echo "   crashed children (exit signal): $(grep -c "exit signal" "$dir/error.log" || true)"
    echo "   error log lines at error level or worse, by message:"
    { grep -E '\[(\w+:)?(error|crit|alert|emerg)\]' "$dir/error.log" || echo "(none)"; } | sed -E 's/^\[[^]]*\] //; s/\[pid [^]]*\] //; s/\[client [^]]*\] //' \
        | sort | uniq -c | sort -rn | head -5 | sed 's/^/     /'
    echo "   (class '-': oversize_header, refused by httpd before its class header was read)"
    echo "   child samples every ${SAMPLE_EVERY}s: t(s) children  RSS kB min/max  fds min/max"
    awk '{n[$1]++; if (!($1 in rmin) || $3<rmin[$1]) rmin[$1]=$3; if ($3>rmax[$1]) rmax[$1]=$3;
          if (!($1 in fmin) || $4<fmin[$1]) fmin[$1]=$4; if ($4>fmax[$1]) fmax[$1]=$4}
         END {for (t in n) printf "     %6d %8d %8d / %-8d %4d / %d\n", t, n[t], rmin[t], rmax[t], fmin[t], fmax[t]}' \
        "$dir/samples" 2>/dev/null | sort -n
}

for mpm in $SOAK_MPMS; do soak_one "$mpm"; done
