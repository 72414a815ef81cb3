"""The SMTP relay of bench/paired.py: aiosmtpd in a process of its own (as a real relay is, so
it never takes the GIL from what is measured), accepting every message on 127.0.0.1 and
counting them; `COUNT` on its control port answers how many it has accepted, so the benchmark
checks that each target really sent its mail.

    python bench/peer/sink.py --port P --control-port C      (prints READY once listening)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

from aiosmtpd.smtp import SMTP, Envelope, Session


class Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        return "250 OK"

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            answer = str(self.count) if line.strip().upper() == b"COUNT" else "ERR"
            writer.write(answer.encode() + b"\n")
            await writer.drain()
        writer.close()


async def serve(port: int, control_port: int) -> None:
    counter = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(counter, hostname="sink.bench.local", enable_SMTPUTF8=True,
                     data_size_limit=64 * 1024 * 1024),
        host="127.0.0.1", port=port, reuse_address=True,
    )  # fmt: skip
    control = await asyncio.start_server(counter.control, host="127.0.0.1", port=control_port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("READY", flush=True)
    await stop.wait()
    server.close()
    control.close()


def count(control_port: int) -> int:
    """How many messages the sink running with this control port has accepted so far."""
    with socket.create_connection(("127.0.0.1", control_port), timeout=30) as conn:
        conn.sendall(b"COUNT\n")
        return int(conn.makefile("rb").readline())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.control_port))
