# tests/servers/orphan_server.py PORT: the first process opens the listener and forks;
# the child serves, and the first process exits with status 3 as soon as the child has
# answered it once (GET /ready), leaving the child orphaned, as a daemon's parent does.
#   GET /      `hello <count> ppid=<the child's parent: 1 once orphaned>`
#   GET /exit  answers `bye`, then the child exits with status 0
# With `watch` after PORT, the child also watches a pipe from the first process (as a
# multiprocessing forkserver does) and exits with status 0 when it reads EOF: the first
# process's end closed its end.
import os
import select
import socket
import sys
import time

port = int(sys.argv[1])
watch = sys.argv[2:] == ["watch"]
alive_r, alive_w = os.pipe()
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
if os.fork() != 0:
    srv.close()
    os.close(alive_r)
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
                c.sendall(b"GET /ready HTTP/1.0\r\n\r\n")
                if c.recv(4096).startswith(b"HTTP/1.1 200"):
                    os._exit(3)
        except OSError:
            time.sleep(0.1)
    os._exit(4)
os.close(alive_w)
count = 0
while True:
    if watch and alive_r in select.select([srv, alive_r], [], [])[0]:
        os._exit(0 if os.read(alive_r, 1) == b"" else 5)
    conn, _ = srv.accept()
    with conn:
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = conn.recv(4096)
            if not chunk:
                break
            req += chunk
        path = req.split(b" ")[1] if req.count(b" ") >= 2 else b"/"
        count += 1
        body = b"bye\n" if path == b"/exit" else b"hello %d ppid=%d\n" % (count, os.getppid())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    if path == b"/exit":
        os._exit(0)
