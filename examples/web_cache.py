"""A Flask app that caches a slow lookup in Redis (cache-aside).

GET /products/<id> answers from Redis when it can and otherwise does the slow
lookup, then stores the answer for CACHE_SECONDS; every response says whether
it came from the cache. DELETE /products/<id> drops the cached answer (what an
app does after changing the product). The client is babushka's sync
``Redis``, used exactly as a redis-py client would be.

Run the app:   python examples/web_cache.py [redis://localhost:6379/0]
Then:          curl localhost:5000/products/7   (twice: the second is cached)
``--demo`` makes a few requests with Flask's test client instead and prints
them (the test suite runs it that way).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from flask import Flask, Response, jsonify

import babushka

CACHE_SECONDS = 60


def slow_lookup(product_id: int) -> dict[str, Any]:
    """Stands in for a database query or a call to another service."""
    time.sleep(0.2)
    return {"id": product_id, "name": f"product {product_id}", "price": product_id * 10}


def create_app(r: babushka.Redis) -> Flask:
    app = Flask(__name__)

    @app.get("/products/<int:product_id>")
    def product(product_id: int) -> Response:
        key = f"cache:product:{product_id}"
        cached = r.get(key)
        if cached is not None:
            return jsonify(product=json.loads(cached), cached=True)
        found = slow_lookup(product_id)
        # ex= gives the entry a time to live: a stale answer ends by itself.
        r.set(key, json.dumps(found), ex=CACHE_SECONDS)
        return jsonify(product=found, cached=False)

    @app.delete("/products/<int:product_id>")
    def invalidate(product_id: int) -> Response:
        removed = r.delete(f"cache:product:{product_id}")
        return jsonify(invalidated=bool(removed))

    return app


def demo(url: str) -> None:
    r = babushka.Redis.from_url(url)
    r.delete("cache:product:7")
    client = create_app(r).test_client()
    for method, path in [
        ("GET", "/products/7"),
        ("GET", "/products/7"),
        ("DELETE", "/products/7"),
        ("GET", "/products/7"),
    ]:
        started = time.perf_counter()
        body = client.open(path, method=method).get_json()
        took_ms = (time.perf_counter() - started) * 1000
        print(f"{method} {path} -> {json.dumps(body, sort_keys=True)} ({took_ms:.0f} ms)")
    print(f"ttl of the cached entry: {r.ttl('cache:product:7')} s")
    r.close()


def main(argv: list[str]) -> None:
    args = [arg for arg in argv if arg != "--demo"]
    url = args[0] if args else os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    if "--demo" in argv:
        demo(url)
    else:
        create_app(babushka.Redis.from_url(url)).run()


if __name__ == "__main__":
    main(sys.argv[1:])
