#!/usr/bin/env bash
# ssh token realm benchmark (as root): milliseconds per ticket for
#   issue    `ssotool realm issue` run directly (key + settings read, sign),
#   ssh      `ssh -T REALM@127.0.0.1` against a private sshd (a fresh ticket),
#   baseline `ssh -T` to the same account with a forced `/bin/true`, which
#            the account's login shell (ssotool) refuses: the ssh handshake
#            and ssotool's start-up, the floor of this ssh-based scheme,
#   cached   `ssotool token` answered from the client cache.
# Prints figures side by side; never asserts.
# Usage: bench/ssh.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="${1:-20}"
[ "$(id -u)" = 0 ] || { echo "bench/ssh.sh: needs root (creates a system account)" >&2; exit 1; }
cargo build --release -q -p ssotool
tool="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/ssotool"

work="$(mktemp -d /tmp/sso-bench-ssh.XXXXXX)"
chmod 755 "$work"
realm="ssob$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  "$work/bin/ssotool" realm --root "$work" delete "$realm" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -m 755 "$work/bin"
cp "$tool" "$work/bin/ssotool"
"$work/bin/ssotool" realm --root "$work" init "$realm" --domain example.org \
  --service api.example.org/ --ttl 600 >/dev/null 2>"$work/init.err" \
  || { cat "$work/init.err" >&2; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/client"
ssh-keygen -q -t ed25519 -N '' -C floor -f "$work/floor"
"$work/bin/ssotool" realm --root "$work" add "$realm" "$work/client.pub" --user bench >/dev/null
# The floor key: same account, same restrictions, a command that the
# account's login shell refuses at once (exit status 1, ignored below).
echo "restrict,command=\"/bin/true\" $(cat "$work/floor.pub")" \
  >> "$work/var/lib/sso-realm/$realm/.ssh/authorized_keys"

mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/hostkey
PidFile $work/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers $realm
CONF
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do grep -q "Server listening" "$work/sshd.log" 2>/dev/null && break; sleep 0.05; done
echo "[127.0.0.1]:$port $(cat "$work/hostkey.pub")" > "$work/known_hosts"
opts="-p $port -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -F /dev/null"

time_ms() { # prints mean ms per run of "$@" over n runs
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$n"); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo $(( (end - start) / n / 1000000 ))
}
issue_direct() { su -s /bin/sh "$realm" -c "$work/bin/ssotool realm issue --root $work $realm bench"; }
fresh_ssh() { ssh -T $opts -i "$work/client" "$realm@127.0.0.1"; }
floor_ssh() { ssh -T $opts -i "$work/floor" "$realm@127.0.0.1" 2>/dev/null || true; }
export XDG_CACHE_HOME="$work/cache" SSO_SSH_OPTIONS="$opts -i $work/client"
cached() { "$work/bin/ssotool" token "$realm@127.0.0.1"; }
cached >/dev/null # fill the cache

printf '%-10s %10s   (%s iterations, release ssotool)\n' "what" "ms/ticket" "$n"
printf '%-10s %10s\n' issue "$(time_ms issue_direct)"
printf '%-10s %10s\n' ssh "$(time_ms fresh_ssh)"
printf '%-10s %10s\n' baseline "$(time_ms floor_ssh)"
printf '%-10s %10s\n' cached "$(time_ms cached)"
echo "(issue includes su's own start-up; ssh minus baseline is the realm's share)"
