# tests/servers/gunicorn_app.py: a WSGI app for gunicorn --workers 2 (a pre-fork server:
# the arbiter forks the workers, each waits on the inherited listener).
#   GET /      `hello <count>`: the worker's requests so far (per-connection state)
#   GET /who   `pid=<worker's pid> ppid=<its parent's: the arbiter>`
#   GET /slow?S  sleeps S seconds (default 2), then `pid=<worker's pid>` (a sync worker
#              serves one request at a time: a request sent meanwhile is another's)
import os
import time

count = 0


def app(environ, start_response):
    global count
    count += 1
    path = environ.get("PATH_INFO", "/")
    if path == "/who":
        body = "pid=%d ppid=%d\n" % (os.getpid(), os.getppid())
    elif path == "/slow":
        time.sleep(float(environ.get("QUERY_STRING") or 2))
        body = "pid=%d\n" % os.getpid()
    else:
        body = "hello %d\n" % count
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
