"""The uds transport: one stream per client to the core's socket listener.

The core encodes and decodes every frame (``_core.UdsCodec``), so this module
only moves bytes between the codec and a Unix socket:

- :class:`SyncStream` serves the sync client, which threads share. Each call
  submits its request to the codec and waits on its own lock; a reader thread
  (blocked in ``recv`` with the GIL released) feeds replies to the codec, which
  resolves each waiter by request id. Writers take every frame encoded so far
  under one lock, so threads that arrive together share one ``sendall``.
- :class:`AsyncStream` serves the asyncio client with a non-blocking socket
  the loop watches: replies are fed when it turns readable, and requests
  submitted during one loop iteration go out in one ``send``.

Both carry what the other transports carry, with the same signatures:
``execute_request``/``submit_request(lease, kind, commands)`` send a command,
a pipeline or a transaction, ``lease()`` opens a ``_core.UdsLease`` (a
dedicated connection in the core, named by id; dropping it gives it back),
and ``subscriber()`` a ``_core.UdsSubscriber`` (a subscriber in the core,
named by id, whose messages the codec hands over batch by batch).
Frames the codec encodes outside a request (lease and cancel frames) reach
the socket through its ``on_output`` hook. An asyncio future cancelled while
its request may run on a dedicated connection sends a cancel frame at once
(written in the callback, not on a later loop iteration), so the core closes
that connection before anything the program sends afterwards arrives (a
cancelled ``BLPOP`` never pops an element pushed after the cancel).

After ``fork``, the child has a listener of its own (the parent's serves the
parent), and a sync stream inherited from the parent opens a new one on first
use: the inherited socket is shared with the parent, so the child only drops
its copy of the descriptor and never shuts it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from typing import Any, Callable, Sequence

from babushka import _core
from babushka._loops import ShutdownHook
from babushka._waiter import Waiter
from babushka.exceptions import ConnectionError

_listener_lock = threading.Lock()
_listener_path: str | None = None
#: Bumped in each forked child; a stream made in another generation is the parent's.
_fork_generation = 0
#: A stream's generation once disconnected: reopened on next use.
_DISCONNECTED = -1
#: Serialises child threads that find the same inherited stream. Reentrant:
#: opening a stream under it allocates, so the collector may run a dropped
#: pool's ``__del__`` there, which closes that pool's stream under it too.
_fork_lock = threading.RLock()

#: How much one ``recv`` may return; replies larger than this arrive in pieces.
_READ_SIZE = 256 * 1024

#: How long close() waits for the reader thread, which its shutdown has woken.
_READER_JOIN_TIMEOUT = 5.0


def listener_path() -> str:
    """The socket listener's path, starting the listener on first use."""
    global _listener_path
    with _listener_lock:
        if _listener_path is None:
            outcome: list[str | None] = []

            def init_callback(path: str | None, error: str | None) -> None:
                outcome.extend((path, error))

            _core.start_socket_listener(init_callback)
            path, error = outcome
            if path is None:
                raise ConnectionError(f"cannot start the socket listener: {error}")
            _listener_path = path
        return _listener_path


def _after_fork_in_child() -> None:
    global _listener_lock, _listener_path, _fork_generation, _fork_lock
    # A parent thread may have held these at the fork.
    _listener_lock = threading.Lock()
    _fork_lock = threading.RLock()
    _listener_path = None
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class SyncStream:
    """The sync client's stream; ``execute`` is safe to call from any thread."""

    def __init__(self, core: _core.Client) -> None:
        self._core = core
        self._open()

    def _open(self) -> None:
        self._codec = codec = self._core.uds_codec()
        codec.set_on_output(self._write_if_free)
        self._sock = sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(listener_path())
            sock.sendall(codec.setup_frame())
        except OSError as error:
            sock.close()
            raise ConnectionError(f"cannot reach the socket listener: {error}") from error
        self._generation = _fork_generation
        self._write_lock = threading.Lock()
        # The reader holds the socket and the codec, never the client, so a
        # client that is dropped without close() is still collected (and its
        # __del__ closes the stream, which ends the reader).
        self._reader = threading.Thread(
            target=_read_loop, args=(sock, codec), name="babushka-uds-reader", daemon=True
        )
        self._reader.start()

    def _drop_inherited_socket(self) -> None:
        """In a forked child, drops our copy of the parent's socket without
        shutting it down: the parent still uses it, and its requests and
        reader stay with the parent."""
        fd = self._sock.detach()
        if fd >= 0:
            os.close(fd)

    def _reopen_after_fork(self) -> None:
        with _fork_lock:
            if self._generation == _DISCONNECTED:
                self._open()
            elif self._generation != _fork_generation:
                self._drop_inherited_socket()
                self._open()

    def disconnect(self) -> None:
        """Closes the stream (the core closes its connections); the next
        request opens a new one. The generation check every request makes
        anyway notices it."""
        with _fork_lock:
            if self._generation == _DISCONNECTED:
                return
            if self._generation != _fork_generation:
                # The parent's stream, inherited: left to the parent.
                self._drop_inherited_socket()
            else:
                self._close_stream()
            self._generation = _DISCONNECTED

    def execute(self, shape: int, *args: Any) -> Any:
        if self._generation != _fork_generation:
            self._reopen_after_fork()
        waiter = Waiter()
        self._codec.submit(waiter, shape, *args)
        with self._write_lock:
            self._write()
        return waiter.wait()

    def execute_request(
        self,
        lease: _core.UdsLease | None,
        kind: int,
        commands: Sequence[tuple[Any, ...]],
        node: str | None = None,
    ) -> Any:
        """As ``_core.Client.execute_request``, with a lease from :meth:`lease`."""
        if self._generation != _fork_generation:
            self._reopen_after_fork()
        waiter = Waiter()
        self._codec.submit_request(waiter, lease, kind, commands, node)
        with self._write_lock:
            self._write()
        return waiter.wait()

    def lease(self, slot: int | None = None) -> _core.UdsLease:
        """A dedicated connection for a WATCH session (``_core.Client.lease``)."""
        if self._generation != _fork_generation:
            self._reopen_after_fork()
        return self._codec.open_lease(slot)

    def subscriber(self, max_buffered_messages: int) -> _core.UdsSubscriber:
        """A subscriber on this stream (``_core.Client.subscriber``)."""
        if self._generation != _fork_generation:
            self._reopen_after_fork()
        return self._codec.open_subscriber(max_buffered_messages)

    def _write(self) -> None:
        """Writes every frame encoded so far; the caller holds the write lock.
        Empty when another thread already sent this caller's frame with its
        own; looped so a frame encoded meanwhile without the lock (a lease
        released by another thread) is not left behind."""
        codec = self._codec
        data = codec.take_output()
        while data:
            try:
                self._sock.sendall(data)
            except OSError as error:
                codec.connection_lost(f"cannot write to the socket listener: {error}")
                return
            data = codec.take_output()

    def _write_if_free(self) -> None:
        """The codec's ``on_output`` hook. It may run while this very thread
        holds the write lock (a lease collected mid-write), so it never waits
        for it: a writer that holds it sends the frame with its own."""
        if self._write_lock.acquire(blocking=False):
            try:
                self._write()
            finally:
                self._write_lock.release()

    def close(self) -> None:
        with _fork_lock:
            if self._generation == _DISCONNECTED:
                return
            if self._generation != _fork_generation:
                # Closed for good in this process too: the steps below only
                # mark the parent's codec closed and find the socket detached.
                self._drop_inherited_socket()
                self._generation = _fork_generation
        self._close_stream()

    def _close_stream(self) -> None:
        self._codec.close()
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        # The shutdown wakes the reader's recv; wait for it so a closed client
        # leaves no thread behind (unless close() runs on the reader itself).
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=_READER_JOIN_TIMEOUT)
        self._sock.close()


def _read_loop(sock: socket.socket, codec: _core.UdsCodec) -> None:
    recv = sock.recv
    feed = codec.feed
    try:
        while True:
            data = recv(_READ_SIZE)
            if not data:
                break
            feed(data)
    except OSError:
        pass
    codec.connection_lost("the socket listener closed the stream")


class AsyncStream:
    """The asyncio client's stream on ``loop``; connects in the background.

    Requests submitted before the connection is up wait in the codec's output
    and go out right after the setup frame. The stream closes when its loop
    shuts down (``asyncio.run`` ending); a client then opens another on the
    next loop it is used from.

    The socket is ours, watched with ``add_reader`` (and ``add_writer`` while
    a write waits), not a loop transport: a transport belongs to its loop and
    only that loop can close it, so a loop closed by hand (``loop.close()``
    without ``shutdown_asyncgens``, which gives no notice) would keep it open.
    asyncio then warns as it is collected, and uvloop's ``close()`` warns
    while closing its handles and never returns if that warning is an error
    (``-W error``, pytest's ``filterwarnings = error``): uvloop skips closing
    a handle whose warning raised, then waits for it. A plain socket is
    closed by whoever finds its loop gone, and a closed loop keeps nothing.
    """

    def __init__(
        self,
        core: _core.Client,
        loop: asyncio.AbstractEventLoop,
        on_loop_shutdown: Callable[[AsyncStream], None] | None = None,
    ) -> None:
        self._core = core
        self.loop = self._loop = loop
        #: The loop's thread: output announced there is written at once.
        self._loop_thread = threading.get_ident()
        #: Told when the loop shuts down (the stream is closed then), so
        #: whoever keeps streams per loop lets this one go.
        self._on_loop_shutdown = on_loop_shutdown
        self._open()

    def _open(self) -> None:
        self._codec = self._core.uds_codec()
        self._codec.set_on_output(self._flush_soon)
        #: The connected socket, once ``_connect`` is done.
        self._sock: socket.socket | None = None
        #: Bytes the socket did not take yet (written when it turns writable).
        self._unsent = bytearray()
        self._closed = False
        self._connecting = self._loop.create_task(self._connect())
        self._shutdown_hook = ShutdownHook(self._loop_shut_down)

    def _loop_shut_down(self) -> None:
        self.close()
        if self._on_loop_shutdown is not None:
            self._on_loop_shutdown(self)

    def _reopen_if_closed(self) -> None:
        """A stream closed by ``close()`` (the client's ``aclose()``) opens
        again on its next use, as redis-py reconnects a closed client."""
        if self._closed:
            self._open()

    async def _connect(self) -> None:
        codec = self._codec
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await self._loop.sock_connect(sock, listener_path())
        except (OSError, ConnectionError) as error:
            sock.close()
            codec.connection_lost(f"cannot reach the socket listener: {error}")
            return
        except BaseException:  # cancelled by close()
            sock.close()
            raise
        if self._closed:
            sock.close()
            return
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._read_ready, sock, codec)
        self._send(codec.setup_frame())
        self._flush()

    def _read_ready(self, sock: socket.socket, codec: _core.UdsCodec) -> None:
        try:
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._lost(sock, codec, f": {error}")
            return
        if data:
            codec.feed(data)
        else:
            self._lost(sock, codec, "")

    def _lost(self, sock: socket.socket, codec: _core.UdsCodec, reason: str) -> None:
        if self._sock is sock:
            self._release_socket()
        codec.connection_lost(f"the socket listener closed the stream{reason}")

    def _send(self, data: bytes) -> None:
        """Writes ``data`` after whatever waits; what the socket does not
        take now waits for it to turn writable."""
        sock = self._sock
        if sock is None:
            return
        if not self._unsent:
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as error:
                self._lost(sock, self._codec, f": {error}")
                return
            if sent == len(data) or self._loop.is_closed():
                # A closed loop cannot wait for the socket: its stream is
                # being let go (a subscriber's close frame, sent on the way).
                return
            data = data[sent:]
            self._loop.add_writer(sock.fileno(), self._write_ready)
        self._unsent += data

    def _write_ready(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sent = sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._lost(sock, self._codec, f": {error}")
            return
        del self._unsent[:sent]
        if not self._unsent:
            self._loop.remove_writer(sock.fileno())

    def submit(self, shape: int, *args: Any) -> asyncio.Future[Any]:
        if self._closed:
            self._open()
        future = self._loop.create_future()
        if self._codec.submit(future, shape, *args):
            # The first request since the last write: write once this loop
            # iteration's other requests have been encoded too.
            self._loop.call_soon(self._flush)
        return future

    def submit_request(
        self,
        lease: _core.UdsLease | None,
        kind: int,
        commands: Sequence[tuple[Any, ...]],
        node: str | None = None,
    ) -> asyncio.Future[Any]:
        """As ``ManagedSender.submit_request``, with a lease from :meth:`lease`."""
        self._reopen_if_closed()
        future = self._loop.create_future()
        if self._codec.submit_request(future, lease, kind, commands, node):
            self._loop.call_soon(self._flush)
        return future

    def lease(self, slot: int | None = None) -> _core.UdsLease:
        """A dedicated connection for a WATCH session (``_core.Client.lease``)."""
        self._reopen_if_closed()
        return self._codec.open_lease(slot)

    def subscriber(self, max_buffered_messages: int) -> _core.UdsSubscriber:
        """A subscriber on this stream (``_core.Client.subscriber``); its
        messages arrive through the loop's reader."""
        self._reopen_if_closed()
        return self._codec.open_subscriber(max_buffered_messages)

    def _flush_soon(self) -> None:
        """The codec's ``on_output`` hook: a lease or cancel frame goes out now
        when announced on the loop's thread (a cancelled future's callback:
        the cancel must not wait for a later iteration, in which the program
        may have sent more), else from the loop (a lease collected on another
        thread)."""
        if threading.get_ident() == self._loop_thread:
            self._flush()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to write
            self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        if self._sock is not None:
            data = self._codec.take_output()
            if data:
                self._send(data)

    def _release_socket(self) -> None:
        """Stops watching the socket and closes it. On a closed loop there is
        nothing to stop watching (its selector, or uvloop's handles, went
        with it)."""
        sock, self._sock = self._sock, None
        self._unsent.clear()
        if sock is None:
            return
        if not self._loop.is_closed():
            fd = sock.fileno()
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        sock.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._shutdown_hook.cancel()
        self._codec.close()
        if self._sock is not None:
            self._release_socket()
        elif not self._connecting.done():
            # On a loop closed without shutting down the task can no longer
            # run: its socket is closed when the collector finalizes it.
            with contextlib.suppress(RuntimeError):
                self._connecting.cancel()


class LoopStreams:
    """The asyncio uds streams of one core client (a pool's, or a
    single-connection client's own): one per event loop, opened on the
    loop's first use. A loop's stream is closed and let go when the loop
    shuts down; streams of loops closed without shutting down (no notice
    reached them) are closed when another loop opens one. Outside a running
    loop (``loop.run_until_complete(r.get(k))``), the last one used serves."""

    def __init__(self, core: _core.Client) -> None:
        self._core = core
        self._streams: dict[asyncio.AbstractEventLoop, AsyncStream] = {}
        self._last: AsyncStream | None = None

    def get(self, loop: asyncio.AbstractEventLoop | None) -> AsyncStream:
        if loop is None:
            if self._last is None:
                raise RuntimeError("no running event loop")
            return self._last
        stream = self._streams.get(loop)
        if stream is None:
            for old_loop in [old for old in self._streams if old.is_closed()]:
                self._streams.pop(old_loop).close()
            stream = self._streams[loop] = AsyncStream(self._core, loop, self._forget)
        self._last = stream
        return stream

    def _forget(self, stream: AsyncStream) -> None:
        if self._streams.get(stream.loop) is stream:
            del self._streams[stream.loop]
        if self._last is stream:
            self._last = None

    def close(self) -> None:
        """Closes every loop's stream; each opens again on its next use."""
        for stream in list(self._streams.values()):
            with contextlib.suppress(RuntimeError):  # its loop may be closed already
                stream.close()
