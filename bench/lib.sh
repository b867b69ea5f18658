# Helpers the bench scripts share; sourced (`. "$(dirname "$0")/lib.sh"`),
# never run.

# The repository, where cargo builds, and Debian's httpd modules.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
MODULES=/usr/lib/apache2/modules

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# httpd_head DIR PORT: the first lines of a private httpd's configuration,
# everything under DIR (run/, error.log), listening on 127.0.0.1:PORT.
httpd_head() {
    cat <<CONF
ServerRoot "$1"
PidFile "$1/run/httpd.pid"
DefaultRuntimeDir "$1/run"
Mutex file:$1/run default
ErrorLog "$1/error.log"
LogLevel warn
Listen 127.0.0.1:$2
ServerName 127.0.0.1:$2
CONF
}

# httpd_user: the User and Group lines a root-started httpd needs to drop
# to www-data (nothing when not root).
httpd_user() {
    if [ "$(id -u)" = 0 ]; then printf 'User www-data\nGroup www-data\n'; fi
}

# stop_pid PID [TENTHS]: TERM, up to TENTHS tenths of a second (default 50)
# for the process to go, then KILL; reaps it when it is our child.
stop_pid() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq "${2:-50}"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# httpd_site MODULES DIR SO: the modules a mod_sso bench httpd loads beside
# its MPM (httpd modules from MODULES, mod_sso from SO) and its document
# root DIR/htdocs.
httpd_site() {
    cat <<CONF
LoadModule authn_core_module $1/mod_authn_core.so
LoadModule authz_core_module $1/mod_authz_core.so
LoadModule authz_user_module $1/mod_authz_user.so
LoadModule mime_module $1/mod_mime.so
LoadModule dir_module $1/mod_dir.so
LoadModule socache_shmcb_module $1/mod_socache_shmcb.so
CONF
    [ -n "$3" ] && echo "LoadModule sso_module $3"
    cat <<CONF
TypesConfig /etc/mime.types
DocumentRoot "$2/htdocs"
DirectoryIndex index.html
<Directory "$2/htdocs">
  Require all granted
</Directory>
CONF
}

# sso_site DOMAIN KEY_FILE SERVICE [LOGIN_SERVER]: mod_sso's directives for
# a bench httpd: the login server (default https://login.DOMAIN/), the
# domain and key, and /sso/ protected as SERVICE over plain http.
sso_site() {
    cat <<CONF
SSOLoginServer ${4:-https://login.$1/}
SSODomain $1
SSOPublicKeyFile $2
<Location /sso/>
  AuthType SSO
  SSOService $3
  SSOCookieSecure Off
  Require valid-user
</Location>
CONF
}
