#!/bin/sh
# Karvdash's Redis entrypoint (written for this project): options or a config file as the
# first argument go to redis-server; started as root, it gives the working folder (/data,
# often a fresh root-owned volume) to the user redis (uid 999) and drops root.
set -eu

case "${1:-}" in
-* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = "redis-server" ] && [ "$(id -u)" = 0 ]; then
	find . ! -user redis -exec chown redis:redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

umask 0077
exec "$@"
