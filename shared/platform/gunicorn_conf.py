"""Gunicorn config of both HTTP services: gevent workers, bounded client read times,
Prometheus multiprocess mode.

Both services run gunicorn's `gevent` worker: a connection costs a greenlet (a few KB),
not a thread or a process, so thousands of Server-Sent Events viewers and hundreds of slow
clients only cost memory. What a client may hold is bounded:

- request line and headers: `keepalive` seconds (the gevent worker reads every request's
  head, the first one included, under a timeout of that length, then closes the socket);
- the body: `BODY_TIMEOUT` seconds from the first read (shared.platform.http_limits);
- sizes: `limit_request_*` and the services' own body limits;
- connections per worker: `worker_connections`, above the viewer cap plus room for the
  other routes, so a full house of viewers never stops a ranking request being accepted.
"""

# gevent first: everything imported after this line (here and in the app, which gunicorn
# loads in the worker) gets cooperative sockets, locks and sleeps. Patching only in the
# worker, as gunicorn does, would come after this module imported ssl and threading.
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="aicity-prom-")
shutil.rmtree(_dir, ignore_errors=True)  # stale files from a previous run would add up
os.makedirs(_dir, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _dir

from prometheus_client import multiprocess  # noqa: E402  (after the env var, on purpose)

from shared.platform.http_limits import bound_body_reads  # noqa: E402
from shared.platform.settings import Settings  # noqa: E402

BODY_TIMEOUT = 30.0  # seconds a client may take to send a request body (16 MB at ~0.5 MB/s)
OTHER_ROUTES = 1000  # connections per worker kept for everything but SSE viewers

worker_class = "gevent"
worker_connections = Settings.from_env().sse_max_viewers + OTHER_ROUTES
keepalive = 5  # idle keep-alive and request-head read time, seconds
timeout = 30  # a worker whose loop is stuck this long is restarted
graceful_timeout = 10
backlog = 4096
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None
# gunicorn >= 25 opens a control socket at one fixed per-user path by default, shared by
# every instance (ingest, web, test stacks); nothing here uses gunicornc.
control_socket_disable = True

# Each connection is a file descriptor: allow what worker_connections promises.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_want = 2 * worker_connections + 256
if _soft != resource.RLIM_INFINITY and _soft < _want:
    _new = _want if _hard == resource.RLIM_INFINITY else min(_want, _hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(_soft, _new), _hard))


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Bound the time a client may take to send a request body."""
    worker.wsgi = bound_body_reads(worker.wsgi, BODY_TIMEOUT)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Drop a dead worker's live gauges."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

# Gunicorn's own records (start, worker boot/exit, errors) as JSON lines like the apps'.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "shared.platform.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
