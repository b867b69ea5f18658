# Helpers the bench scripts share; sourced (`. "$ROOT/bench/lib.sh"`), never run.

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
