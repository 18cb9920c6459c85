# Written by notebooks/12_production.ipynb: edit there, or edit here and run `workshop sync`
"""gunicorn settings for the app: `gunicorn app.main:app` reads this file from the current folder.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS; the worker count
also with WEB_CONCURRENCY. Several workers need Redis and PostgreSQL (REDIS_URL, DATABASE_URL)
to behave as one app.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# One worker per core (the async workers wait on I/O, not the CPU), at least 2 for overlap.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
# uvicorn in each worker, with the server limits of app/server.py (headers, keep-alive, frames).
worker_class = "app.server.Worker"
# A stopping worker gets this long to finish its requests and close its WebSockets (1001).
graceful_timeout = 20
# A worker that does not report in this long is killed and replaced (the loop is blocked).
timeout = 60
keepalive = 5
# The access log on stdout: uvicorn writes it, and the app's filter (app/log_redaction.py)
# replaces every ?token= in it before it is written.
accesslog = "-"
errorlog = "-"
# Bring a worker up again after many requests, so a slow leak never grows without bound.
max_requests = 10000
max_requests_jitter = 1000
