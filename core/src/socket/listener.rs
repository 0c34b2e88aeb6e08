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
//! stream gets its own [`Client`], and every request is submitted to it as
//! its frame is read, so a stream's requests are pipelined to the server in
//! the order the wrapper wrote them. Replies go through a channel to one
//! writer task, which writes as many as are ready in one system call. Anything malformed closes that stream
//! (after a closing-error frame saying why) and nothing else.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify};

use super::convert::{connection_config, error_to_proto, value_to_proto};
use super::frame::{encode_frame, FrameDecoder, FrameError};
use super::proto::{self, response};
use crate::client::Client;
use crate::command::Command;
use crate::error::{Error, ErrorKind, Result};
use crate::request::Request;
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

/// Starts the listener (once per process) and returns its socket's path.
pub fn start() -> Result<PathBuf> {
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

/// Locks the listener's record until [`unlock_after_fork`]; see
/// `runtime::before_fork`.
pub(crate) fn lock_for_fork() {
    std::mem::forget(LISTENER.lock());
}

/// # Safety
/// Only after [`lock_for_fork`] on this thread.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: the caller's contract: `lock_for_fork` locked it on this thread.
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
enum Outgoing {
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
            let client = read_loop(reader, &tx).await;
            // The wrapper is gone or was cut off: nobody will read the replies
            // of requests still running, so drop them and the server connection.
            if let Some(client) = client {
                client.close();
            }
        }
        Ok(uid) => {
            let _ = tx.send(closing(&Error::new(
                ErrorKind::Connection,
                format!(
                    "refused: the peer runs as uid {uid}, the listener serves only uid {}",
                    current_uid()
                ),
            )));
        }
        Err(err) => {
            let _ = tx.send(closing(&Error::new(
                ErrorKind::Connection,
                format!("refused: cannot read the peer's credentials: {err}"),
            )));
        }
    }
    drop(tx);
    let _ = writer.await;
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
        Self::Invalid(Error::new(ErrorKind::Protocol, err.to_string()))
    }
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
    let client = match setup(&mut reader, &mut decoder).await {
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
    loop {
        let request = match next_message::<proto::Request>(&mut reader, &mut decoder).await {
            Ok(request) => request,
            Err(Stop::Eof) => break,
            Err(Stop::Invalid(err)) => {
                let _ = tx.send(closing(&err));
                break;
            }
        };
        if request.request_id == 0 {
            let _ = tx.send(closing(&Error::new(
                ErrorKind::Protocol,
                "malformed frame: request id 0 is reserved",
            )));
            break;
        }
        dispatch(&request, &client, tx);
    }
    Some(client)
}

async fn setup(
    reader: &mut OwnedReadHalf,
    decoder: &mut FrameDecoder,
) -> Result<Arc<Client>, Stop> {
    let request = next_message::<proto::ConnectionRequest>(reader, decoder).await?;
    let config = connection_config(request).map_err(Stop::Invalid)?;
    Client::new(&config).map_err(Stop::Invalid)
}

/// Submits one request to the stream's client, in the order the frames came;
/// its reply goes to the writer whenever it completes.
fn dispatch(request: &proto::Request, client: &Arc<Client>, tx: &mpsc::UnboundedSender<Outgoing>) {
    let id = request.request_id;
    let reply = |result| {
        // The writer is gone only when the stream is closing; the reply has no reader.
        let _ = tx.send(Outgoing::Frame(proto::Response {
            request_id: id,
            result: Some(result),
        }));
    };
    let cmd = match Command::from_args(&request.args) {
        Ok(cmd) => cmd,
        Err(err) => {
            reply(response::Result::Error(error_to_proto(&err)));
            return;
        }
    };
    let tx = tx.clone();
    let submitted = client.submit(
        Request::one(cmd),
        Box::new(move |outcome| {
            let result = match outcome {
                Ok(value) => response::Result::Value(value_to_proto(value)),
                Err(err) => response::Result::Error(error_to_proto(&err)),
            };
            let _ = tx.send(Outgoing::Frame(proto::Response {
                request_id: id,
                result: Some(result),
            }));
        }),
    );
    if submitted.wake_owed {
        client.wake();
    }
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
