#!/bin/sh
# Container entry point: `api` (gunicorn), `worker`, `migrate`, or any manage.py command.
set -eu
case "${1:-api}" in
    api) exec gunicorn -c deploy/gunicorn.conf.py --bind 0.0.0.0:8000 ;;
    worker) shift; exec python manage.py consume_account_events "$@" ;;
    migrate) exec python manage.py migrate --no-input ;;
    *) exec python manage.py "$@" ;;
esac
