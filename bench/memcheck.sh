#!/usr/bin/env bash
# Memory checks of the modules in their hosts (docs/reliability.md, part 4):
#  1. mod_sso in `apache2 -X` (one process, no children) under valgrind
#     memcheck, with a representative set of requests (curl): valid cookie
#     and Authorization tickets, expired, forged, wrong service, nonce
#     ticket in a header, garbage cookies and headers up to the limits, no
#     ticket, sso_login with a good nonce (then the bound cookie), a bad
#     nonce and a replay, sso_logout, a graceful restart (SIGUSR1) and a
#     second round; then a clean stop so the leak check runs at exit.
#  2. pam_sso in the real libpam under valgrind: bench/src/bin/pam_sso.rs
#     (pam_start_confdir on a private service directory: valid ticket,
#     second key, forged, not a ticket) with a few iterations.
#  3. the test binary of tests/tests/pam_sso_libpam.rs (every libpam case
#     of the test suite, in one process) under valgrind.
# Reports, per host, invalid reads/writes and other memory errors, and
# definite leaks, split into those with a project frame (mod_sso, pam_sso,
# sso_core, or the libraries they are built into) and the rest. Prints,
# never asserts. Suppressions: bench/memcheck.supp (each entry explained).
#
# Usage: bench/memcheck.sh     (env: PAM_ITERATIONS=3)
# Needs: apache2, valgrind, curl, python3-cryptography, openssl; root.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
PAM_ITERATIONS=${PAM_ITERATIONS:-3}
DOMAIN=memcheck.example
SUPP=$ROOT/bench/memcheck.supp
VALGRIND=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --num-callers=40 --keep-debuginfo=yes --suppressions="$SUPP" --xml=yes)

echo "== building (debug: full frames)"
(cd "$ROOT" && cargo build -q -p mod_sso -p pam_sso --lib && cargo build -q -p bench --bin pam_sso)
SO=$TARGET/debug/libmod_sso.so

WORK=$(mktemp -d /tmp/mod_sso_memcheck.XXXXXX)
chmod 755 "$WORK"
HTTPD_PID=
cleanup() {
    if [ -n "$HTTPD_PID" ] && kill -0 "$HTTPD_PID" 2>/dev/null; then kill -KILL "$HTTPD_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# summarize NAME XML...: counts from valgrind XML reports (one per
# process: a forked httpd child writes its own).
summarize() {
    python3 - "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
name, paths = sys.argv[1], sys.argv[2:]
roots = []
for p in paths:
    try:
        roots.append(ET.parse(p).getroot())
    except ET.ParseError:
        # A process killed before valgrind closed its report.
        print(f"   {name}: {p}: report not complete (process killed), skipped")
if len(roots) > 1:
    print(f"   {name}: {len(roots)} processes")
project = ("mod_sso", "pam_sso", "sso_core", "libmod_sso.so", "libpam_sso.so", "pam_sys::", "pam::")
counts = {}
for err in [e for root in roots for e in root.findall("error")]:
    kind = err.findtext("kind")
    frames = err.findall("./stack/frame")
    ours = any(any(p in (f.findtext("fn") or "") + " " + (f.findtext("obj") or "") for p in project) for f in frames)
    lost = int(err.findtext("./xwhat/leakedbytes") or 0)
    blocks = err.findtext("./xwhat/leakedblocks")
    key = (kind, "project" if ours else "host")
    n, b = counts.get(key, (0, 0))
    counts[key] = (n + 1, b + lost)
    top = [f.findtext("fn") or f.findtext("obj") or "?" for f in frames[:7]]
    where = "project frame" if ours else "host only"
    size = f", {lost} bytes in {blocks} blocks" if blocks else ""
    print(f"   {name}: {kind} ({where}{size}): " + " <- ".join(top))
supp = sum(int(p.findtext("count")) for root in roots for p in root.findall("./suppcounts/pair"))
print(f"   {name}: errors by kind (project frames / host only):")
kinds = sorted({k for k, _ in counts})
if not kinds:
    print("     none")
for k in kinds:
    p = counts.get((k, "project"), (0, 0))
    h = counts.get((k, "host"), (0, 0))
    extra = f"  (bytes {p[1]} / {h[1]})" if k.startswith("Leak_") else ""
    print(f"     {k:24} {p[0]:5} / {h[0]}{extra}")
invalid = sum(n for (k, w), (n, _) in counts.items() if k in ("InvalidRead", "InvalidWrite") and w == "project")
definite = sum(n for (k, w), (n, _) in counts.items() if k == "Leak_DefinitelyLost" and w == "project")
print(f"   {name}: invalid reads/writes in project frames: {invalid}; definite leaks in project frames: {definite}; suppressed: {supp}")
EOF
}

# ---- 1. mod_sso in apache2 -X
openssl genpkey -algorithm ed25519 -out "$WORK/secret.pem" 2>/dev/null
openssl pkey -in "$WORK/secret.pem" -pubout -out "$WORK/public.pem"
PORT=$(free_port)
SERVICE=127.0.0.1:$PORT/sso/
mkdir -p "$WORK/run" "$WORK/htdocs/sso"
echo hello > "$WORK/htdocs/sso/index.html"
{ httpd_head "$WORK" "$PORT"; cat <<EOF
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
EOF
httpd_site "$MODULES" "$WORK" "$SO"
sso_site "$DOMAIN" "$WORK/public.pem" "$SERVICE"
} > "$WORK/httpd.conf"
python3 - "$WORK" "$SERVICE" "$DOMAIN" <<'EOF'
import base64, hashlib, sys, time, urllib.parse
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
work, service, domain = sys.argv[1:4]
key = serialization.load_pem_private_key(open(f"{work}/secret.pem", "rb").read(), None)
now = int(time.time())
def ticket(k=key, user="alice", svc=service, expires=now + 3600, nonce="", groups=""):
    c = f"4|{user}|{svc}|{domain}|{expires}|{nonce}|{groups}".encode()
    return base64.urlsafe_b64encode(k.sign(c) + c).decode()
def commitment(secret):
    # What the login server is asked for when the browser's nonce cookie
    # holds `secret` (sso_core::web::nonce_commitment, docs/protocol.md).
    return hashlib.sha256(b"sso nonce commitment v1\0" + secret.encode()).digest()[:16].hex()
t = {
    "valid": ticket(groups="staff,ops"),
    "expired": ticket(expires=now - 600),
    "forged": ticket(k=ed25519.Ed25519PrivateKey.generate()),
    "wrong_service": ticket(svc="other.memcheck.example/"),
    # One browser ticket per round (sso_login takes each once).
    "nonce1": ticket(nonce=commitment("00112233445566778899aabbccddeeff"), user="r1"),
    "nonce2": ticket(nonce=commitment("00112233445566778899aabbccddeeff"), user="r2"),
    "other_nonce": ticket(nonce="ffeeddccbbaa99887766554433221100"),
}
for name, value in t.items():
    open(f"{work}/t.{name}", "w").write(value)
    open(f"{work}/q.{name}", "w").write(urllib.parse.quote(value, safe=""))
EOF

chmod -R a+rX "$WORK"
"${VALGRIND[@]}" --xml-file="$WORK/httpd.xml" \
    /usr/sbin/apache2 -X -d "$WORK" -f "$WORK/httpd.conf" > "$WORK/httpd.out" 2>&1 &
HTTPD_PID=$!
wait_up() {
    for _ in $(seq 600); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
        kill -0 "$HTTPD_PID" 2>/dev/null || { cat "$WORK/error.log" "$WORK/httpd.out"; exit 1; }
        sleep 0.2
    done
    echo "httpd under valgrind did not answer in 120 s"; exit 1
}
wait_up
URL=http://127.0.0.1:$PORT/sso/
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
big() { head -c "$1" /dev/urandom | base64 -w0 | head -c "$1"; }
requests() { # requests ROUND LABEL
    local r=() nonce=nonce$1
    r+=("valid cookie $(code -H "Cookie: SSO_ticket=$(cat "$WORK/t.valid")" "$URL")")
    r+=("valid header $(code -H "Authorization: SSO $(cat "$WORK/t.valid")" "$URL")")
    r+=("expired $(code -H "Cookie: SSO_ticket=$(cat "$WORK/t.expired")" "$URL")")
    r+=("forged $(code -H "Cookie: SSO_ticket=$(cat "$WORK/t.forged")" "$URL")")
    r+=("wrong-service $(code -H "Authorization: SSO $(cat "$WORK/t.wrong_service")" "$URL")")
    r+=("nonce-in-header $(code -H "Authorization: SSO $(cat "$WORK/t.$nonce")" "$URL")")
    r+=("garbage-cookie $(code -H "Cookie: SSO_ticket=$(big 4000); SSO_binding=$(big 300)" "$URL")")
    r+=("big-header $(code -H "Authorization: SSO $(big 8000)" "$URL")")
    r+=("oversize-header $(code -H "X-Junk: $(big 9000)" "$URL")")
    r+=("no-ticket $(code "$URL")")
    local set
    set=$(curl -s -o /dev/null -D - -H "Cookie: SSO_nonce=00112233445566778899aabbccddeeff" \
        "${URL}sso_login?t=$(cat "$WORK/q.$nonce")&d=%2Fsso%2F" | tr -d '\r')
    r+=("sso_login-good $(echo "$set" | awk 'NR==1 {print $2}')")
    local binding
    binding=$(echo "$set" | sed -n 's/^[Ss]et-[Cc]ookie: SSO_binding=\([^;]*\).*/\1/p' | head -1)
    r+=("bound-cookie $(code -H "Cookie: SSO_ticket=$(cat "$WORK/t.$nonce"); SSO_binding=$binding" "$URL")")
    r+=("sso_login-replay $(code -H "Cookie: SSO_nonce=00112233445566778899aabbccddeeff" "${URL}sso_login?t=$(cat "$WORK/q.$nonce")&d=%2Fsso%2F")")
    r+=("sso_login-bad-nonce $(code -H "Cookie: SSO_nonce=0000" "${URL}sso_login?t=$(cat "$WORK/q.other_nonce")&d=%2Fsso%2F")")
    r+=("sso_login-garbage $(code "${URL}sso_login?t=$(big 5000)&d=$(big 3000)")")
    r+=("sso_logout $(code -H "Cookie: SSO_ticket=$(cat "$WORK/t.valid")" "${URL}sso_logout")")
    echo "   $2: ${r[*]}"
}
echo "== mod_sso in apache2 -X under valgrind (requests: class status)"
requests 1 "round 1"
kill -USR1 "$HTTPD_PID"
sleep 5
wait_up
requests 2 "round 2 (after a graceful restart)"
kill -TERM "$HTTPD_PID"
wait "$HTTPD_PID" || true
HTTPD_PID=
summarize httpd "$WORK/httpd.xml"

# ---- 2. pam_sso in libpam
echo "== pam_sso in libpam under valgrind ($PAM_ITERATIONS iterations per round)"
"${VALGRIND[@]}" --xml-file="$WORK/pam.xml" \
    "$TARGET/debug/pam_sso" "$TARGET/debug/libpam_sso.so" "$PAM_ITERATIONS" > "$WORK/pam.out" 2>&1 \
    || echo "   (driver exited with $?; its output: $(tail -3 "$WORK/pam.out"))"
summarize libpam "$WORK/pam.xml"

# ---- 3. the pam_sso libpam test file under valgrind
# tests/tests/pam_sso_libpam.rs loads libpam and pam_sso into its own
# process (pam_start_confdir on private service directories), so its test
# binary runs under valgrind as it is: every case of that file, not a
# subset. A test's verdict is cargo's harness's.
echo "== pam_sso_libpam test binary under valgrind"
PAM_TESTS=$(cd "$ROOT" && cargo test -p tests --test pam_sso_libpam --no-run 2>&1 \
    | sed -n 's/.*Executable.*(\(.*pam_sso_libpam-[0-9a-f]*\)).*/\1/p' | tail -1)
(cd "$ROOT/tests" && "${VALGRIND[@]}" --xml-file="$WORK/pam-tests.xml" "$(case $PAM_TESTS in /*) echo "$PAM_TESTS";; *) echo "$ROOT/$PAM_TESTS";; esac)" --test-threads=1) \
    > "$WORK/pam-tests.out" 2>&1 || true
echo "   pam_sso_libpam: $(grep -E '^test result' "$WORK/pam-tests.out" | sed 's/test result: //; s/; finished.*//')"
summarize pam-tests "$WORK/pam-tests.xml"
