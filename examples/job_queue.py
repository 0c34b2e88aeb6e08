"""A job queue on a Redis stream with a consumer group.

A producer adds jobs with XADD. Workers in one consumer group share them:
XREADGROUP hands each job to one worker, which acknowledges it with XACK
when done. A job read but never acknowledged (its worker crashed) stays
pending; a reaper claims jobs pending longer than a threshold with
XAUTOCLAIM and finishes them, so every job is done exactly once.

Run:  python examples/job_queue.py [redis://localhost:6379/0]
(or set REDIS_URL)
"""

from __future__ import annotations

import os
import sys
import threading
import time

import babushka
from babushka.exceptions import ResponseError

STREAM = "jobs"
GROUP = "workers"
JOBS = 12
#: A job pending longer than this is taken to be stuck (its worker is gone).
STUCK_AFTER_MS = 300


def produce(r: babushka.Redis[str]) -> None:
    for n in range(JOBS):
        r.xadd(STREAM, {"job": str(n), "payload": f"resize image {n}"})
    print(f"producer: added {JOBS} jobs")


def ensure_group(r: babushka.Redis[str]) -> None:
    try:
        # id="0": the group starts at the stream's beginning; mkstream makes
        # the stream if the producer has not run yet.
        r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def work(
    r: babushka.Redis[str], name: str, done: list[tuple[str, str]], lock: threading.Lock
) -> None:
    """Takes jobs until none is left; ">" asks for jobs no worker got yet."""
    while True:
        batch = r.xreadgroup(GROUP, name, {STREAM: ">"}, count=2, block=200)
        if not batch:
            return
        for _stream, entries in batch:
            for entry_id, fields in entries:
                with lock:
                    done.append((fields["job"], name))
                r.xack(STREAM, GROUP, entry_id)


def crash(r: babushka.Redis[str], name: str) -> list[str]:
    """A worker that reads two jobs and dies before acknowledging them."""
    batch = r.xreadgroup(GROUP, name, {STREAM: ">"}, count=2)
    return [fields["job"] for _stream, entries in batch for _id, fields in entries]


def reap(r: babushka.Redis[str], done: list[tuple[str, str]]) -> int:
    """Claims jobs pending longer than STUCK_AFTER_MS and finishes them."""
    reclaimed = 0
    cursor = "0-0"
    while True:
        cursor, entries, _deleted = r.xautoclaim(
            STREAM, GROUP, "reaper", min_idle_time=STUCK_AFTER_MS, start_id=cursor
        )
        for entry_id, fields in entries:
            done.append((fields["job"], "reaper"))
            r.xack(STREAM, GROUP, entry_id)
            reclaimed += 1
        if cursor == "0-0":  # the whole pending list was looked at
            return reclaimed


def main(url: str) -> None:
    r = babushka.Redis.from_url(url, decode_responses=True)
    r.delete(STREAM)
    ensure_group(r)
    produce(r)

    lost = crash(r, "worker-crashed")
    print(f"worker-crashed: took jobs {', '.join(lost)} and died")

    done: list[tuple[str, str]] = []
    lock = threading.Lock()
    workers = [threading.Thread(target=work, args=(r, f"worker-{n}", done, lock)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"workers: finished {len(done)} jobs")
    pending = r.xpending(STREAM, GROUP)
    print(f"pending (read, never acknowledged): {pending['pending']}")

    time.sleep(STUCK_AFTER_MS / 1000)
    print(f"reaper: reclaimed {reap(r, done)} stuck jobs with XAUTOCLAIM")
    print(f"pending now: {r.xpending(STREAM, GROUP)['pending']}")
    # Sorted job numbers with no repeat and no gap: each job done once.
    every_job = sorted(int(job) for job, _by in done) == list(range(JOBS))
    print(f"every job done exactly once: {every_job}")
    r.delete(STREAM)
    r.close()


if __name__ == "__main__":
    main(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    )
