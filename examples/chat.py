"""A chat room on pub/sub, with asyncio.

Each user has a connection that publishes and a PubSub that listens to the
room's channel; every user sees every line said in the room, their own
included, in the order it was said. A moderator follows every room at once
with a pattern subscription (PSUBSCRIBE chat:*).

Run:  python examples/chat.py [redis://localhost:6379/0]
(or set REDIS_URL)
"""

from __future__ import annotations

import asyncio
import os
import sys

import babushka.asyncio
from babushka.asyncio.pubsub import PubSub

ROOM = "chat:lobby"
SCRIPT = [
    ("alice", "hi all"),
    ("bob", "hello alice"),
    ("carol", "morning!"),
    ("alice", "bye"),
]


async def listen(pubsub: PubSub, user: str, expected: int) -> None:
    """Prints what ``user`` receives until ``expected`` lines arrived."""
    received = 0
    async for message in pubsub.listen():
        if message["type"] not in ("message", "pmessage"):
            continue  # subscribe confirmations
        print(f"[{user} sees] {message['channel']}: {message['data']}")
        received += 1
        if received == expected:
            return


async def main(url: str) -> None:
    r = babushka.asyncio.Redis.from_url(url, decode_responses=True)
    users = sorted({user for user, _ in SCRIPT})
    listeners = []
    pubsubs = []
    for user in users:
        pubsub = r.pubsub()
        # Returns once the server confirmed it: nothing said after is missed.
        await pubsub.subscribe(ROOM)
        pubsubs.append(pubsub)
        listeners.append(asyncio.create_task(listen(pubsub, user, len(SCRIPT))))
    moderator = r.pubsub()
    await moderator.psubscribe("chat:*")
    pubsubs.append(moderator)
    listeners.append(asyncio.create_task(listen(moderator, "moderator", len(SCRIPT) + 1)))

    for user, line in SCRIPT:
        # PUBLISH answers how many subscribers the line reached.
        heard_by = await r.publish(ROOM, f"{user}: {line}")
        print(f"{user} says {line!r} to {heard_by} listeners")
    await r.publish("chat:help", "moderator: anyone there?")

    await asyncio.wait_for(asyncio.gather(*listeners), timeout=10)
    for pubsub in pubsubs:
        await pubsub.aclose()
    await r.aclose()


if __name__ == "__main__":
    url = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
    asyncio.run(main(url))
