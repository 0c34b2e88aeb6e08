//! The socket listener: one per process, on a Unix domain socket that only
//! this user can reach.
//!
//! ## Where the socket lives
//!
//! `$XDG_RUNTIME_DIR/babushka-<uid>-<pid>/socket` (or under the temporary
//! directory when `XDG_RUNTIME_DIR` is unset). The directory is created 0700,
//! so no other user can even reach the socket, and the socket itself is 0600.
//! Directories left by processes that died without cleaning up are removed
//! when a new listener starts; [`shutdown`] removes this process's own.
//!
//! ## What a stream does
//!
//! A wrapper connects and writes a `ConnectionRequest`, then `Request`s. The
//! stream gets its own [`Client`], and every request (a command or a batch,
//! on the client's routing or on a lease) is submitted to it as its frame is
//! read, so a stream's requests are pipelined to the server in the order the
//! wrapper wrote them; the writer of the shared connection is woken once per
//! read's worth of frames. The listener decides nothing about a request: it
//! builds the core's [`Request`] from the frame and submits it.
//!
//! The stream keeps three tables, all only touched by its read loop: the
//! leases the wrapper opened (by the ids it chose), how to cancel each
//! request that runs on a dedicated connection (the core's [`Cancel`], whose
//! existence the response's `dedicated` notice tells the wrapper), and the
//! subscribers it opened (`subscribers`: their messages go out as
//! `PushBatch` frames, one per fetch). When the stream ends, its leases go
//! back, its subscribers close and its client closes, which ends every
//! request still running; nothing is cancelled twice.
//!
//! Replies go through a channel to one writer task, which writes as many as
//! are ready in one system call. Anything malformed closes that stream (after
//! a closing-error frame saying why) and nothing else.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify};

use super::convert::{
    connection_config, error_to_proto, frame_from_proto, malformed, value_to_proto,
    wants_wrapper_credentials, Frame,
};
use super::credentials::Asks;
use super::frame::{encode_frame, FrameDecoder, FrameError};
use super::proto::{self, response};
use super::subscribers::Subscribers;
use crate::client::{Cancel, Client};
use crate::connection::Lease;
use crate::debug::{self, PanicSite};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Event, Level, Topic};
use crate::fork::ForkHook;
use crate::request::{Request, Route};
use crate::runtime;

/// The socket file's name inside the per-process directory.
const SOCKET_NAME: &str = "socket";
/// The prefix of the per-process directory: `babushka-<uid>-<pid>`.
const DIR_PREFIX: &str = "babushka-";
/// The writer flushes once it holds this much, even if more replies are ready.
const WRITE_BATCH: usize = 256 * 1024;

struct Running {
    path: PathBuf,
    dir: PathBuf,
    stop: Arc<Notify>,
    /// The process that owns the socket: a forked child inherits this record
    /// but not the listener's task, and must neither use nor remove it.
    pid: u32,
}

static LISTENER: Mutex<Option<Running>> = Mutex::new(None);

/// Holds the listener's record across `fork` (see [`crate::fork`]).
static FORK_HOOK: ForkHook = ForkHook {
    // `start` calls `runtime::handle` (the runtime's lock, rank 1) holding it.
    rank: 0,
    prepare: lock_for_fork,
    parent: unlock_after_fork,
    child: unlock_after_fork,
};
static FORK_HOOK_REGISTERED: std::sync::Once = std::sync::Once::new();

/// Starts the listener (once per process) and returns its socket's path.
pub fn start() -> Result<PathBuf> {
    FORK_HOOK_REGISTERED.call_once(|| crate::fork::register(&FORK_HOOK));
    runtime::register_fork_handlers();
    let mut listener = LISTENER.lock();
    match &*listener {
        Some(running) if running.pid == std::process::id() => return Ok(running.path.clone()),
        // The parent's: leave its socket file alone and start our own.
        Some(_) => *listener = None,
        None => {}
    }
    let handle = runtime::handle()?;
    let uid = current_uid();
    let base = base_dir();
    remove_stale_dirs(&base, uid);
    let dir = base.join(format!("{DIR_PREFIX}{uid}-{}", std::process::id()));
    create_private_dir(&dir, uid)
        .map_err(|e| io_failure("cannot create the socket directory", &dir, &e))?;
    let path = dir.join(SOCKET_NAME);
    let socket = {
        let _guard = handle.enter();
        UnixListener::bind(&path).map_err(|e| io_failure("cannot bind the socket", &path, &e))?
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_failure("cannot restrict the socket", &path, &e))?;
    let stop = Arc::new(Notify::new());
    handle.spawn(accept_loop(socket, Arc::clone(&stop)));
    *listener = Some(Running {
        path: path.clone(),
        dir,
        stop,
        pid: std::process::id(),
    });
    Ok(path)
}

/// Stops accepting and removes the socket and its directory. Streams already
/// open keep running until the runtime stops. Called at interpreter exit.
pub fn shutdown() {
    let running = LISTENER.lock().take();
    if let Some(running) = running.filter(|running| running.pid == std::process::id()) {
        running.stop.notify_one();
        let _ = std::fs::remove_file(&running.path);
        let _ = std::fs::remove_dir(&running.dir);
    }
}

/// Locks the listener's record until [`unlock_after_fork`].
fn lock_for_fork() {
    std::mem::forget(LISTENER.lock());
}

/// Only as a fork hook, after [`lock_for_fork`] ran on this thread.
fn unlock_after_fork() {
    // SAFETY: the fork registry runs this only after `lock_for_fork` locked
    // the record on this (the forking) thread and forgot the guard.
    unsafe { LISTENER.force_unlock() };
}

/// The path of the running listener's socket, if it runs.
pub fn socket_path() -> Option<PathBuf> {
    LISTENER
        .lock()
        .as_ref()
        .filter(|running| running.pid == std::process::id())
        .map(|running| running.path.clone())
}

#[cold]
fn io_failure(what: &str, path: &Path, err: &io::Error) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("{what} {}: {err}", path.display()),
    )
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn base_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if Path::new(&dir).is_dir() => PathBuf::from(dir),
        _ => std::env::temp_dir(),
    }
}

/// Creates `dir` as 0700, replacing a stale one of ours with the same name (a
/// dead process that had our pid). Refuses anything not owned by us, or a
/// symlink, so another user cannot plant the directory in a shared /tmp.
fn create_private_dir(dir: &Path, uid: u32) -> io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(dir) {
        if !meta.is_dir() || meta.uid() != uid {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "exists and is not a directory owned by this user",
            ));
        }
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    // The umask can only remove bits; set the mode exactly anyway.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Removes `babushka-<uid>-<pid>` directories of ours whose process is gone.
fn remove_stale_dirs(base: &Path, uid: u32) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let prefix = format!("{DIR_PREFIX}{uid}-");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let owned = entry
            .path()
            .symlink_metadata()
            .is_ok_and(|meta| meta.is_dir() && meta.uid() == uid);
        if owned && pid != std::process::id() as i32 && !process_alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether a peer with `peer_uid` may use the socket: only our own user.
pub fn peer_allowed(peer_uid: u32) -> bool {
    peer_uid == current_uid()
}

async fn accept_loop(socket: UnixListener, stop: Arc<Notify>) {
    loop {
        tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream));
                }
                // Out of descriptors and the like: back off, keep listening.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            () = stop.notified() => return,
        }
    }
}

/// What the reader hands the writer.
pub(super) enum Outgoing {
    Frame(proto::Response),
    /// Write this last frame, then close the stream.
    Close(proto::Response),
}

#[cold]
fn closing(err: &Error) -> Outgoing {
    Outgoing::Close(proto::Response {
        request_id: 0,
        result: Some(response::Result::ClosingError(error_to_proto(err))),
    })
}

/// Serves one wrapper stream until it closes or misbehaves.
async fn serve(stream: UnixStream) {
    let peer = stream.peer_cred().map(|cred| cred.uid());
    let (reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(writer, rx));
    match peer {
        Ok(uid) if peer_allowed(uid) => {
            report(
                Level::Debug,
                "uds_accepted",
                "accepted a stream on the uds listener",
            );
            let client = read_loop(reader, &tx).await;
            report(Level::Debug, "uds_closed", "a uds stream ended");
            // The wrapper is gone or was cut off: nobody will read the replies
            // of requests still running, so drop them and the server connection.
            if let Some(client) = client {
                client.close();
            }
        }
        Ok(uid) => {
            report(
                Level::Warning,
                "uds_refused",
                "refused a uds stream: its peer runs as another user",
            );
            let _ = tx.send(closing(&Error::new(
                ErrorKind::Connection,
                format!(
                    "refused: the peer runs as uid {uid}, the listener serves only uid {}",
                    current_uid()
                ),
            )));
        }
        Err(err) => {
            report(
                Level::Warning,
                "uds_refused",
                "refused a uds stream: cannot read its peer's credentials",
            );
            let _ = tx.send(closing(&Error::new(
                ErrorKind::Connection,
                format!("refused: cannot read the peer's credentials: {err}"),
            )));
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// Reports an event of the listener (`crate::events`), with its socket path.
fn report(level: Level, name: &'static str, message: &str) {
    events::emit(Topic::Uds, level, || {
        let mut event = Event::new(Topic::Uds, level, name, message.to_owned());
        if let Some(path) = socket_path() {
            event = event.with("address", path.display().to_string());
        }
        event
    });
}

/// Why a stream's reading stopped.
enum Stop {
    /// The wrapper closed its end (or the socket broke): nothing to say.
    Eof,
    /// The wrapper sent something invalid: say why before closing.
    Invalid(Error),
}

impl From<FrameError> for Stop {
    #[cold]
    fn from(err: FrameError) -> Self {
        Self::Invalid(frame_error(&err))
    }
}

#[cold]
fn frame_error(err: &FrameError) -> Error {
    Error::new(ErrorKind::Protocol, err.to_string())
}

/// Reads until a whole message is buffered; `Err(Stop::Eof)` at a clean end.
async fn next_message<M: Message + Default>(
    reader: &mut OwnedReadHalf,
    decoder: &mut FrameDecoder,
) -> Result<M, Stop> {
    loop {
        if let Some(message) = decoder.next_message::<M>()? {
            return Ok(message);
        }
        match reader.read_buf(decoder.buffer_mut()).await {
            Ok(0) => {
                decoder.finish()?;
                return Err(Stop::Eof);
            }
            Ok(_) => {}
            Err(_) => return Err(Stop::Eof),
        }
    }
}

/// Reads the setup frame, then requests, until the stream ends. Returns the
/// stream's client (if setup got that far) so the caller can close it.
async fn read_loop(
    mut reader: OwnedReadHalf,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> Option<Arc<Client>> {
    let mut decoder = FrameDecoder::new();
    let asks = Arc::new(Asks::default());
    let client = match setup(&mut reader, &mut decoder, &asks, tx).await {
        Ok(client) => client,
        Err(stop) => {
            if let Stop::Invalid(err) = stop {
                let _ = tx.send(closing(&err));
            }
            return None;
        }
    };
    let _ = tx.send(Outgoing::Frame(proto::Response {
        request_id: 0,
        result: Some(response::Result::Value(value_to_proto(redis::Value::Okay))),
    }));
    let mut stream = Stream::new(Arc::clone(&client), tx.clone(), Arc::clone(&asks));
    loop {
        let request = match decoder.next_message::<proto::Request>() {
            Ok(Some(request)) => request,
            Ok(None) => {
                // Every frame read so far is submitted: wake the writer once
                // for all of them, then wait for more.
                stream.pay_wake();
                match reader.read_buf(decoder.buffer_mut()).await {
                    Ok(0) => {
                        if let Err(err) = decoder.finish() {
                            let _ = tx.send(closing(&frame_error(&err)));
                        }
                        break;
                    }
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
            Err(err) => {
                let _ = tx.send(closing(&frame_error(&err)));
                break;
            }
        };
        let handled = frame_from_proto(request).and_then(|frame| stream.handle(frame));
        if let Err(err) = handled {
            let _ = tx.send(closing(&err));
            break;
        }
    }
    stream.pay_wake();
    // Connections being opened stop waiting for credentials nobody will send.
    asks.abandon();
    // Leases go back (and are closed with the client); cancels are dropped
    // without being called: closing the client ends every request anyway.
    drop(stream);
    Some(client)
}

async fn setup(
    reader: &mut OwnedReadHalf,
    decoder: &mut FrameDecoder,
    asks: &Arc<Asks>,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> Result<Arc<Client>, Stop> {
    let request = next_message::<proto::ConnectionRequest>(reader, decoder).await?;
    let from_wrapper = wants_wrapper_credentials(&request);
    let mut config = connection_config(request).map_err(Stop::Invalid)?;
    if from_wrapper {
        config.credential_provider = Some(asks.provider(tx.downgrade()));
    }
    Client::new(&config).map_err(Stop::Invalid)
}

/// The most leases one stream may hold open at once. Each may hold a server
/// connection; a wrapper that opens more is broken (or hostile).
const MAX_LEASES: usize = 65_536;

/// A lease id's state on its stream.
enum LeaseSlot {
    Open(Lease),
    /// Taking the connection failed: requests on the lease fail with this.
    Failed(Error),
}

/// One stream's state, owned by its read loop: every frame is handled here,
/// in the order it was read, and nothing is spawned per request.
struct Stream {
    client: Arc<Client>,
    tx: mpsc::UnboundedSender<Outgoing>,
    /// The leases the wrapper opened, by the ids it chose.
    leases: HashMap<u64, LeaseSlot>,
    /// How to cancel the requests running on dedicated connections, by id.
    /// Finished ones are forgotten in bulk when the table doubles.
    cancels: HashMap<u64, Cancel>,
    prune_cancels_at: usize,
    /// A deferred [`Client::wake`] is owed (see [`crate::Submitted`]).
    wake_owed: bool,
    /// The subscribers the wrapper opened, by the ids it chose.
    subscribers: Subscribers,
    /// Credentials asked of the wrapper, waiting for its answers.
    asks: Arc<Asks>,
}

/// The cancel table is pruned when it reaches this size, or twice the size
/// it had after the last pruning.
const MIN_CANCEL_PRUNE: usize = 64;

impl Stream {
    fn new(client: Arc<Client>, tx: mpsc::UnboundedSender<Outgoing>, asks: Arc<Asks>) -> Self {
        Self {
            client,
            tx,
            leases: HashMap::new(),
            cancels: HashMap::new(),
            prune_cancels_at: MIN_CANCEL_PRUNE,
            wake_owed: false,
            subscribers: Subscribers::default(),
            asks,
        }
    }

    /// Carries out one frame. `Err` when it breaks the stream's rules: the
    /// stream is then closed with it.
    fn handle(&mut self, frame: Frame) -> Result<()> {
        match frame {
            Frame::Submit {
                request_id,
                lease_id,
                node,
                batch,
            } => {
                let route = match node {
                    Some(node) => Ok(Route::Node(node)),
                    None => self.route(lease_id),
                };
                let route = match route {
                    Ok(route) => route,
                    Err(err) => {
                        self.reply(request_id, response::Result::Error(error_to_proto(&err)));
                        return Ok(());
                    }
                };
                match batch {
                    Ok(batch) => self.submit(request_id, Request { batch, route }),
                    Err(err) => {
                        self.reply(request_id, response::Result::Error(error_to_proto(&err)));
                    }
                }
            }
            Frame::OpenLease { lease_id, slot } => {
                if self.leases.contains_key(&lease_id) {
                    return Err(malformed(&format!("lease id {lease_id} is already open")));
                }
                if self.leases.len() >= MAX_LEASES {
                    return Err(malformed(&format!(
                        "more than {MAX_LEASES} leases open on one stream"
                    )));
                }
                let slot = match self.client.lease_now(slot) {
                    Ok(lease) => LeaseSlot::Open(lease),
                    Err(err) => LeaseSlot::Failed(err),
                };
                self.leases.insert(lease_id, slot);
            }
            Frame::ReleaseLease { lease_id, reusable } => match self.leases.remove(&lease_id) {
                Some(LeaseSlot::Open(lease)) => {
                    // Only ever cleared here: a closed lease stays closed.
                    if !reusable {
                        lease.set_reusable(false);
                    }
                }
                Some(LeaseSlot::Failed(_)) => {}
                None => return Err(unknown_lease(lease_id)),
            },
            Frame::CloseLease(lease_id) => match self.leases.get(&lease_id) {
                Some(LeaseSlot::Open(lease)) => lease.close(),
                Some(LeaseSlot::Failed(_)) => {}
                None => return Err(unknown_lease(lease_id)),
            },
            // An id that is not there finished already (or never ran on a
            // dedicated connection): nothing to cancel.
            Frame::Cancel(request_id) => {
                if let Some(cancel) = self.cancels.remove(&request_id) {
                    cancel.cancel();
                }
            }
            Frame::OpenSubscriber {
                subscriber_id,
                max_buffered,
            } => {
                self.subscribers
                    .open(&self.client, subscriber_id, max_buffered, &self.tx)?;
            }
            Frame::SubscriberCommand {
                subscriber_id,
                request_id,
                call,
            } => self
                .subscribers
                .command(subscriber_id, request_id, call, &self.tx)?,
            Frame::FetchMessages(subscriber_id) => self.subscribers.fetch(subscriber_id)?,
            Frame::CloseSubscriber(subscriber_id) => self.subscribers.close(subscriber_id)?,
            Frame::Credentials { ask_id, answer } => self.asks.answer(ask_id, answer),
            Frame::SetDefaultNode(chosen) => self
                .client
                .set_default_node(chosen)
                .map_err(|err| malformed(err.message()))?,
        }
        Ok(())
    }

    /// Where a request on `lease_id` goes, or why it cannot run.
    fn route(&self, lease_id: u64) -> Result<Route> {
        if lease_id == 0 {
            return Ok(Route::Auto);
        }
        match self.leases.get(&lease_id) {
            Some(LeaseSlot::Open(lease)) => Ok(Route::Lease(lease.clone())),
            Some(LeaseSlot::Failed(err)) => Err(err.clone()),
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("lease id {lease_id} is not open on this stream"),
            )),
        }
    }

    /// Submits a request; its outcome goes to the writer whenever it comes.
    fn submit(&mut self, request_id: u64, request: Request) {
        let reply = Reply {
            request_id,
            tx: Some(self.tx.clone()),
        };
        let submitted = self.client.submit(
            request,
            Box::new(move |outcome| {
                // A panic while converting (a bug) fails this request alone.
                // Unwind safety: the outcome is not looked at again.
                let converted = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    debug::maybe_panic(PanicSite::Listener);
                    match outcome {
                        Ok(value) => response::Result::Value(value_to_proto(value)),
                        Err(err) => response::Result::Error(error_to_proto(&err)),
                    }
                }));
                reply.send(converted.unwrap_or_else(|panic| {
                    let err = Error::from_panic("converting the reply to a frame", &*panic);
                    response::Result::Error(error_to_proto(&err))
                }));
            }),
        );
        self.wake_owed |= submitted.wake_owed;
        // One that failed at once (a closed lease) has nothing to cancel.
        if let Some(cancel) = submitted.cancel.filter(Cancel::is_pending) {
            self.remember_cancel(request_id, cancel);
            self.reply(request_id, response::Result::Dedicated(true));
        }
    }

    fn remember_cancel(&mut self, request_id: u64, cancel: Cancel) {
        if self.cancels.len() >= self.prune_cancels_at {
            self.cancels.retain(|_, cancel| cancel.is_pending());
            self.prune_cancels_at = (self.cancels.len() * 2).max(MIN_CANCEL_PRUNE);
        }
        // A wrapper that reuses the id of a request still running loses the
        // way to cancel the first one; nothing else mixes up.
        self.cancels.insert(request_id, cancel);
    }

    fn reply(&self, request_id: u64, result: response::Result) {
        // The writer is gone only when the stream is closing.
        let _ = self.tx.send(Outgoing::Frame(proto::Response {
            request_id,
            result: Some(result),
        }));
    }

    /// Wakes the shared connection's writer if a submit asked for it.
    fn pay_wake(&mut self) {
        if std::mem::take(&mut self.wake_owed) {
            self.client.wake();
        }
    }
}

/// Where one request's response goes. Dropped without sending (its sink
/// dropped unanswered: a bug), it sends an error response, so the wrapper's
/// caller never waits for ever.
struct Reply {
    request_id: u64,
    tx: Option<mpsc::UnboundedSender<Outgoing>>,
}

impl Reply {
    fn send(mut self, result: response::Result) {
        if let Some(tx) = self.tx.take() {
            respond(&tx, self.request_id, result);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let err = Error::new(
                ErrorKind::Internal,
                "internal error (a bug in babushka, please report it): the request's \
                 outcome was lost on its way to the socket",
            );
            respond(
                &tx,
                self.request_id,
                response::Result::Error(error_to_proto(&err)),
            );
        }
    }
}

fn respond(tx: &mpsc::UnboundedSender<Outgoing>, request_id: u64, result: response::Result) {
    // The writer is gone only when the stream is closing; the reply has no
    // reader.
    let _ = tx.send(Outgoing::Frame(proto::Response {
        request_id,
        result: Some(result),
    }));
}

#[cold]
fn unknown_lease(lease_id: u64) -> Error {
    malformed(&format!("lease id {lease_id} is not open on this stream"))
}

/// Writes replies as they come, as many per system call as are ready.
async fn write_loop(mut writer: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let mut buffer = Vec::with_capacity(64 * 1024);
    while let Some(first) = rx.recv().await {
        let mut close = push(first, &mut buffer);
        while !close && buffer.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(next) => close = push(next, &mut buffer),
                Err(_) => break,
            }
        }
        if writer.write_all(&buffer).await.is_err() {
            return;
        }
        if close {
            let _ = writer.shutdown().await;
            return;
        }
        buffer.clear();
        // Do not keep a huge reply's allocation for the stream's lifetime.
        if buffer.capacity() > 4 * WRITE_BATCH {
            buffer = Vec::with_capacity(64 * 1024);
        }
    }
}

fn push(outgoing: Outgoing, buffer: &mut Vec<u8>) -> bool {
    match outgoing {
        Outgoing::Frame(response) => {
            encode_frame(&response, buffer);
            false
        }
        Outgoing::Close(response) => {
            encode_frame(&response, buffer);
            true
        }
    }
}
