#!/usr/bin/python3
"""bench/peer_asyncio.py — the Python side of `weft bench aio`.

Servers (A1, A2), one per process, on 127.0.0.1:PORT (0 = any free port);
each prints "PORT <n>" on stdout once listening and serves until killed:

  peer_asyncio.py serve echo-streams PORT     asyncio.start_server, read + write + drain
  peer_asyncio.py serve echo-protocol PORT    an asyncio.Protocol writing back in data_received
  peer_asyncio.py serve echo-uvloop PORT      the same Protocol on uvloop's loop
  peer_asyncio.py serve http-streams PORT     keep-alive HTTP/1.1 hello world: readline headers
  peer_asyncio.py serve http-protocol PORT    the same as a Protocol (blank lines counted)
  peer_asyncio.py serve http-uvloop PORT      that Protocol on uvloop

Micro-benchmarks (A3), with the command line of the other peers (bench/common.h):

  peer_asyncio.py A3 SIZE THREADS [REPS]

    case spawn     SIZE tasks made with asyncio.create_task, then gathered: ns per task
    case queue     SIZE round trips between two tasks through two asyncio.Queue: ns per trip
  on asyncio's own loop (impl asyncio) and on uvloop (impl uvloop, when importable).
  Prints one JSON line per measurement: the median of REPS runs after one warm-up run.

Run with Debian's /usr/bin/python3 (uvloop from python3-uvloop).
"""
import asyncio
import json
import resource
import statistics
import sys
import time

HTTP_REPLY = (b"HTTP/1.1 200 OK\r\n"
              b"Content-Type: text/plain\r\n"
              b"Content-Length: 13\r\n"
              b"\r\n"
              b"Hello, World!")


def emit(bench, case, impl, threads, value, unit, better="lower"):
    line = {"bench": bench, "case": case, "impl": impl, "threads": threads,
            "value": round(value, 6), "unit": unit, "better": better}
    print(json.dumps(line, separators=(",", ":")), flush=True)


def uvloop_or_none():
    try:
        import uvloop
        return uvloop
    except ImportError:
        return None


# ---- servers ----

async def echo_streams(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def http_streams(reader, writer):
    try:
        while True:
            # the request line and headers, up to the blank line
            line = await reader.readline()
            if not line:
                break
            while line not in (b"\r\n", b"\n", b""):
                line = await reader.readline()
            if not line:
                break
            writer.write(HTTP_REPLY)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class HttpProtocol(asyncio.Protocol):
    """Counts requests by their blank line; the tail of a read is kept so
    that a "\\r\\n\\r\\n" split across two reads is still found."""

    def connection_made(self, transport):
        self.transport = transport
        self.tail = b""

    def data_received(self, data):
        buf = self.tail + data
        n = buf.count(b"\r\n\r\n")
        self.tail = buf[buf.rfind(b"\r\n\r\n") + 4:] if n else buf
        self.tail = self.tail[-3:]
        if n:
            self.transport.write(HTTP_REPLY * n)


async def serve(kind, port):
    loop = asyncio.get_running_loop()
    if kind == "echo-streams":
        server = await asyncio.start_server(echo_streams, "127.0.0.1", port, backlog=4096)
    elif kind == "http-streams":
        server = await asyncio.start_server(http_streams, "127.0.0.1", port, backlog=4096)
    elif kind in ("echo-protocol", "echo-uvloop"):
        server = await loop.create_server(EchoProtocol, "127.0.0.1", port, backlog=4096)
    else:
        server = await loop.create_server(HttpProtocol, "127.0.0.1", port, backlog=4096)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


SERVER_KINDS = ("echo-streams", "echo-protocol", "echo-uvloop",
                "http-streams", "http-protocol", "http-uvloop")


def run_server(kind, port):
    # 1,000 connections and more: lift the soft descriptor limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if kind.endswith("-uvloop"):
        uvloop = uvloop_or_none()
        if uvloop is None:
            print("peer_asyncio: uvloop not importable (Debian python3-uvloop)", file=sys.stderr)
            sys.exit(3)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        asyncio.run(serve(kind, port))
    except KeyboardInterrupt:
        pass


# ---- A3: tasks and queues ----

async def noop(i):
    return i


async def spawn_gather(n):
    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(noop(i)) for i in range(n)]
    results = await asyncio.gather(*tasks)
    dt = time.perf_counter_ns() - t0
    assert sum(results) == n * (n - 1) // 2
    return dt / n


async def queue_pingpong(n):
    there, back = asyncio.Queue(), asyncio.Queue()

    async def ponger():
        for _ in range(n):
            v = await there.get()
            await back.put(v + 1)

    t0 = time.perf_counter_ns()
    task = asyncio.create_task(ponger())
    for i in range(n):
        await there.put(i)
        got = await back.get()
        assert got == i + 1
    await task
    return (time.perf_counter_ns() - t0) / n


def measure(fn, n, reps, loop_factory):
    def once():
        loop = loop_factory()
        try:
            return loop.run_until_complete(fn(n))
        finally:
            loop.close()
    once()
    return statistics.median(once() for _ in range(reps))


def a3(n, threads, reps):
    loops = [("asyncio", asyncio.new_event_loop)]
    uvloop = uvloop_or_none()
    if uvloop is not None:
        loops.append(("uvloop", uvloop.new_event_loop))
    else:
        print("peer_asyncio: uvloop not importable, its A3 rows skipped", file=sys.stderr)
    for impl, factory in loops:
        emit("A3", "spawn", impl, threads, measure(spawn_gather, n, reps, factory), "ns/task")
        emit("A3", "queue", impl, threads, measure(queue_pingpong, n, reps, factory), "ns/trip")


def usage():
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) == 4 and argv[1] == "serve" and argv[2] in SERVER_KINDS:
        run_server(argv[2], int(argv[3]))
    elif len(argv) in (4, 5) and argv[1] == "A3":
        n, threads = int(argv[2]), int(argv[3])
        reps = int(argv[4]) if len(argv) == 5 else 5
        if n < 1 or threads < 1 or reps < 1:
            usage()
        a3(n, threads, reps)
    else:
        usage()


if __name__ == "__main__":
    main(sys.argv)
