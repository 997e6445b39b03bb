# tests/servers/spawn_server.py PORT FILE: a blocking HTTP/1.0-style server (one request
# per connection) whose requests start child processes:
#   GET /echo  runs /bin/echo in a subprocess and answers `hello <counter> <its output>`
#   GET /bg    starts `sh -c 'sleep 2; echo late >FILE'` without waiting for it and
#              answers `started <counter>` (under --ephemeral the reset ends that child,
#              so FILE never appears; with --threads 1 alone it does)
import socket
import subprocess
import sys

port, late_file = int(sys.argv[1]), sys.argv[2]
counter = 0
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    with conn:
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = conn.recv(4096)
            if not chunk:
                break
            req += chunk
        path = req.split(b" ")[1] if req.count(b" ") >= 2 else b"/"
        counter += 1
        if path == b"/bg":
            subprocess.Popen(["/bin/sh", "-c", "sleep 2; echo late >" + late_file])
            body = b"started %d\n" % counter
        else:
            out = subprocess.run(["/bin/echo", "child says hi"], capture_output=True).stdout
            body = b"hello %d %s" % (counter, out)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
