# hello.py - asyncio "Hello, World!" HTTP/1.1 server for bench/run.  Port from argv[1].
# asyncio.start_server, keep-alive unless the request says "Connection: close"
# (then the reply says so and the server closes after writing it).
import asyncio
import sys

BODY = b"Hello, World!"


async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            close = False
            while True:
                h = await reader.readline()
                if not h or h in (b"\r\n", b"\n"):
                    break
                name, _, value = h.partition(b":")
                if name.strip().lower() == b"connection" and b"close" in value.lower():
                    close = True
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                % (len(BODY), b"Connection: close\r\n" if close else b"", BODY)
            )
            await writer.drain()
            if close:
                break
    except ConnectionError:
        pass
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000))
