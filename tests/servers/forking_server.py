# tests/servers/forking_server.py PORT: Python's socketserver.ForkingTCPServer: the server
# process forks a child per connection, after accept, and the child answers (HTTP/1.0
# style, one request per connection).  The server counts the connections it forked for:
#   GET /              `hello <count>`
#   GET /who           `pid=<the child's pid> ppid=<its parent's>`
#   GET /sleeper       the child forks a grandchild that closes the connection and sleeps
#                      forever, and answers `sleeper <grandchild's pid>`
#   GET /check?PID     `alive` or `gone`: whether guest process PID still exists
# Under --ephemeral every connection sees count 1, and the reset ends what the request
# left running (the grandchild); with --threads 1 the count grows.
import os
import socketserver
import sys
import time


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = self.request.recv(4096)
            if not chunk:
                break
            req += chunk
        path = req.split(b" ")[1].decode() if req.count(b" ") >= 2 else "/"
        if path == "/sleeper":
            pid = os.fork()
            if pid == 0:
                self.request.close()
                while True:
                    time.sleep(3600)
            body = "sleeper %d\n" % pid
        elif path.startswith("/check?"):
            try:
                os.kill(int(path[7:]), 0)
                body = "alive\n"
            except ProcessLookupError:
                body = "gone\n"
        elif path == "/who":
            body = "pid=%d ppid=%d\n" % (os.getpid(), os.getppid())
        else:
            body = "hello %d\n" % self.server.count
        data = body.encode()
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(data), data)
        )


class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    count = 0

    def process_request(self, request, client_address):
        self.count += 1  # in the server process, before the fork: the per-connection state
        super().process_request(request, client_address)


with Server(("127.0.0.1", int(sys.argv[1])), Handler) as srv:
    srv.serve_forever()
