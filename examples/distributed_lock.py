"""A distributed lock: ``r.lock(name, timeout=...)``.

Workers (threads here; processes on other machines work the same way) add
to a shared balance with a read-modify-write that is only safe under the
lock. Then the lock's timeout at work: a holder that needs longer than its
timeout extends the lock (``extend``); one that stalls past it loses the
lock to the next worker, and its ``release`` raises ``LockNotOwnedError``
rather than freeing a lock it no longer holds.

Run:  python examples/distributed_lock.py [redis://localhost:6379/0]
(or set REDIS_URL)
"""

from __future__ import annotations

import os
import sys
import threading
import time

import babushka
from babushka.exceptions import LockNotOwnedError

WORKERS = 4
DEPOSITS = 10


def deposit_many(r: babushka.Redis) -> None:
    for _ in range(DEPOSITS):
        # timeout: the lock frees itself if this worker dies holding it;
        # blocking_timeout: how long to wait for it before giving up.
        with r.lock("lock:balance", timeout=5, blocking_timeout=10, sleep=0.01):
            balance = int(r.get("balance") or 0)
            r.set("balance", balance + 10)


def mutual_exclusion(r: babushka.Redis) -> None:
    r.set("balance", 0)
    threads = [threading.Thread(target=deposit_many, args=(r,)) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = WORKERS * DEPOSITS * 10
    print(f"balance after {WORKERS * DEPOSITS} locked deposits: {int(r.get('balance') or 0)}")
    print(f"expected: {expected}")


def expiry_and_extend(r: babushka.Redis) -> None:
    slow = r.lock("lock:report", timeout=0.5)
    other = r.lock("lock:report", timeout=0.5)
    print(f"slow worker acquires: {slow.acquire(blocking=False)}")
    print(f"other worker acquires at once: {other.acquire(blocking=False)}")

    # The work takes longer than planned: ask for more time before it runs out.
    slow.extend(1.5)
    time.sleep(0.6)  # past the first 0.5 s, within the extension
    print(f"after extend, still owned by the slow worker: {slow.owned()}")

    # Now the slow worker stalls past its timeout: the lock expires.
    time.sleep(1.5)
    print(f"after stalling, lock held by anyone: {slow.locked()}")
    print(f"other worker acquires: {other.acquire(blocking=True, blocking_timeout=1)}")
    try:
        slow.release()
    except LockNotOwnedError:
        print("slow worker's release: LockNotOwnedError (the lock is another's now)")
    other.release()


def main(url: str) -> None:
    r = babushka.Redis.from_url(url)
    r.delete("balance", "lock:balance", "lock:report")
    mutual_exclusion(r)
    expiry_and_extend(r)
    r.delete("balance")
    r.close()


if __name__ == "__main__":
    main(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
