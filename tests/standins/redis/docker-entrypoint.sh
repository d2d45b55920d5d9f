#!/bin/sh
# Like the official redis entrypoint: when started as root, own /data and drop
# to the redis user; `redis-server ARGS` or `-ARG...` runs the server.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server /etc/redis/redis.conf "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
