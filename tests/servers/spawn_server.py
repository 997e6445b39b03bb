# tests/servers/spawn_server.py PORT FILE: a blocking HTTP/1.0-style server (one request
# per connection) whose requests start child processes:
#   GET /echo  runs /bin/echo in a subprocess and answers `hello <counter> <its output>`
#   GET /bg    starts `sh -c 'sleep 2; echo late >FILE'` without waiting for it and
#              answers `started <counter>` (under --ephemeral the reset ends that child,
#              so FILE never appears; with --threads 1 alone it does)
#   GET /wait  (two request VMs at once, --threads 2) counts the SIGUSR1s it gets: it
#              creates FILE.waiting, waits until FILE.go exists and answers `usr1 <count>`
#   GET /kill  sends SIGUSR1 to its own pid and to its process group, creates FILE.go and
#              answers `usr1 <count>`: it gets both, and the request VM in /wait, which
#              has the same pid and group (its template's), gets neither
import os
import signal
import socket
import subprocess
import sys
import time

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
        if path in (b"/wait", b"/kill"):
            got = []
            signal.signal(signal.SIGUSR1, lambda *_: got.append(1))
            os.getpgrp()  # a process-table entry, as any process that signals has
            if path == b"/wait":
                open(late_file + ".waiting", "w").close()
                while not os.path.exists(late_file + ".go"):
                    time.sleep(0.05)
            else:
                os.kill(os.getpid(), signal.SIGUSR1)
                os.kill(0, signal.SIGUSR1)
                open(late_file + ".go", "w").close()
            body = b"usr1 %d\n" % len(got)
        elif path == b"/bg":
            subprocess.Popen(["/bin/sh", "-c", "sleep 2; echo late >" + late_file])
            body = b"started %d\n" % counter
        else:
            out = subprocess.run(["/bin/echo", "child says hi"], capture_output=True).stdout
            body = b"hello %d %s" % (counter, out)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
