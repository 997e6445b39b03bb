# tests/servers/asyncio_server.py PORT: asyncio.start_server HTTP/1.1 server
# (keep-alive, `Connection: close`), answering `hello <counter>` where counter
# is a global incremented per request.
import asyncio
import sys

counter = 0


async def handle(reader, writer):
    global counter
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            close = line.rstrip().endswith(b"HTTP/1.0")
            length = 0
            while True:
                h = await reader.readline()
                if not h or h in (b"\r\n", b"\n"):
                    break
                name, _, value = h.partition(b":")
                name = name.strip().lower()
                value = value.strip().lower()
                if name == b"connection":
                    close = b"close" in value or (close and b"keep-alive" not in value)
                elif name == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            counter += 1
            body = b"hello %d\n" % counter
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                % (len(body), b"Connection: close\r\n" if close else b"", body)
            )
            await writer.drain()
            if close:
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
