"""Babushka's benchmark: ``python -m babushka.bench`` (or ``./dev bench``).

Layout:

- ``options``: the command line.
- ``workload``: the pre-drawn 80% GET / 20% SET operation sequence.
- ``clients``: one adapter per client and transport (Babushka, redis-py,
  valkey-glide, the reference client, the asyncio ceiling), all exposing the
  client's own public ``get``/``set``.
- ``reference``: a minimal pure-Python pipelining asyncio client, a yardstick
  only (not part of Babushka).
- ``runner``: one cell (tasks or threads, warm-up, measurement, CPU time) and
  the idle-CPU probe.
- ``results`` and ``report``: medians, ratios, the table, JSON, CSV and chart.
- ``server``: the throw-away ``redis-server`` and keyspace seeding.
- ``cli``: ties them together, round-robin over the clients in each repetition.

See ``bench/README.md`` for how to read the output.
"""
