#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A WebSocket client nobody here wrote (Debian's python3-websockets) against
a running gateway's /ws/locations.

    ws-outside-client.py PORT TOKEN MIN_LON,MIN_LAT,MAX_LON,MAX_LAT

It subscribes and reads the answer, has a ping of its own answered, has a
bad subscribe refused with 1007 and the reason, and closes a second stream
itself with 1000; each close must complete its handshake at once (the
server echoes the client's close and then closes the connection). Exits 0
when all of that held, 1 naming what did not, 77 when the module is
missing."""

import asyncio
import json
import sys
import time

try:
    import websockets
except ImportError:
    sys.exit(77)


def check(condition, what):
    if not condition:
        print(f"not ok: {what}")
        sys.exit(1)
    print(f"ok: {what}")


async def connect(port, token):
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/locations",
        extra_headers={"Authorization": f"Bearer {token}"},
        ping_interval=None,
        close_timeout=5,
        compression=None,
    )


async def main(port, token, bbox):
    ws = await connect(port, token)
    await ws.send(json.dumps({"type": "subscribe", "bbox": bbox}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    check(first.get("type") in ("subscribed", "updates") and "epoch" in first and "seq" in first,
          f"the subscribe answered with a stream position ({first.get('type')})")

    pong = await ws.ping(b"outside")
    await asyncio.wait_for(pong, 5)
    check(True, "a ping of the client's own answered")

    await ws.send(json.dumps({"type": "hello"}))
    start = time.monotonic()
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    check(ws.close_code == 1007 and (ws.close_reason or "").startswith("type: Only"),
          f"a bad subscribe closed with 1007 naming the field ({ws.close_code} {ws.close_reason!r})")
    check(time.monotonic() - start < 2.5, "the server's close handshake completed")

    ws = await connect(port, token)
    await ws.send(json.dumps({"type": "subscribe", "bbox": bbox}))
    await asyncio.wait_for(ws.recv(), 10)
    start = time.monotonic()
    await ws.close(code=1000, reason="done")
    check(ws.close_code == 1000, f"the client's close echoed ({ws.close_code})")
    check(time.monotonic() - start < 2.5, "the client's close handshake completed and the server hung up")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], [float(x) for x in sys.argv[3].split(",")]))
