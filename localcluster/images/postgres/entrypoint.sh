#!/bin/bash
# Karvdash's PostgreSQL entrypoint (written for this project). The contract it honours is
# the one templates give the usual postgres image:
#   POSTGRES_PASSWORD  password of POSTGRES_USER, required to create a database
#   POSTGRES_USER      superuser to create (default postgres)
#   POSTGRES_DB        database to create (default: POSTGRES_USER)
#   PGDATA             data folder (default /var/lib/postgresql/data); created and
#                      initialised with initdb when it holds no database yet
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256)
#   /docker-entrypoint-initdb.d/*.sql and *.sh run once, after the first initdb
# Remote connections need the password; the server listens on all addresses; it runs as
# the user postgres (uid 999), never as root.
set -euo pipefail

if [ "${1:0:1}" = "-" ]; then
	set -- postgres "$@"
fi
if [ "$1" != "postgres" ]; then
	exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
AUTH="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [ "$(id -u)" = 0 ]; then
	# a fresh volume belongs to root: give the data folder to postgres, then drop root
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" 2>/dev/null || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$AUTH" != "trust" ]; then
		echo "error: the database is not initialised and POSTGRES_PASSWORD is empty." >&2
		echo "  Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, which lets" >&2
		echo "  anyone who reaches the port in without a password)." >&2
		exit 1
	fi
	pwfile="$(mktemp)"
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	# shellcheck disable=SC2086
	initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host="$AUTH" ${POSTGRES_INITDB_ARGS:-}
	rm -f "$pwfile"
	{
		echo
		echo "# added by the image's entrypoint: inside the container the socket trusts its"
		echo "# users; over the network every connection gives the password"
		echo "host all all all $AUTH"
	} >>"$PGDATA/pg_hba.conf"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"

	# a server on the socket only, for the first database and the init scripts
	pg_ctl --pgdata="$PGDATA" --wait --silent \
		--options="-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start
	psql=(psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --host=/var/run/postgresql)
	if [ "$POSTGRES_DB" != "postgres" ]; then
		"${psql[@]}" --dbname=postgres --set=db="$POSTGRES_DB" <<-'SQL'
			SELECT format('CREATE DATABASE %I', :'db')
			WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
		SQL
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sql) echo "running $f" && "${psql[@]}" --dbname="$POSTGRES_DB" -f "$f" ;;
		*.sh) echo "running $f" && . "$f" ;;
		*) ;;
		esac
	done
	pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
	echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
