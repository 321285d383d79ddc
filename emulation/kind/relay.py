"""``python -m emulation.kind.relay --listen HOST:PORT --to 127.0.0.1:PORT``.

The engine binds loopback only; kind's pods reach the host on the kind network's
gateway. This relay listens there and forwards every connection to the engine. It runs
until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from emulation.runtime.proxy import pipe


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def relay(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()

    server = await asyncio.start_server(handle, *listen, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    with contextlib.suppress(Exception):
        await server.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulation.kind.relay", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT on the kind network")
    parser.add_argument("--to", required=True, help="HOST:PORT of the engine")
    args = parser.parse_args(argv)
    try:
        asyncio.run(relay(_address(args.listen), _address(args.to)))
    except OSError as exc:
        print(f"error: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
