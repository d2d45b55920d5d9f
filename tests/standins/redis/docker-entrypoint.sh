#!/bin/sh
# Entrypoint of the pier redis stand-in, like the official one:
#   (no args)                    redis-server /etc/redis/redis.conf
#   -ARG... / ARG.conf ...       arguments for redis-server
#   redis-server --ARG...        run with /etc/redis/redis.conf plus the
#                                arguments (so bind and protected-mode stay
#                                open to other containers, as upstream
#                                arranges with --protected-mode no)
#   anything else                exec'd as is
# Started as root, it owns /data and drops to the redis user.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- redis-server /etc/redis/redis.conf "$@"
elif [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
elif [ "$1" = redis-server ]; then
  shift
  case "${1:-}" in
    *.conf) set -- redis-server "$@" ;;
    *)      set -- redis-server /etc/redis/redis.conf "$@" ;;
  esac
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
