//! TLS on a client's connections, with rustls.
//!
//! A client's [`Connector`] is made once, when the client is made: the
//! certificates and keys are read, the cipher suites named and the verifier
//! chosen then, so a mistake raises in the constructor on every transport.
//! Each connection then runs the TLS handshake in its open step, right
//! after the TCP connect and before the session's handshake (`AUTH`, ...):
//! every transport and every connection (shared or dedicated) gets TLS with
//! no code of its own.
//!
//! - `material`: trust anchors, the client's certificate and its key (PEM
//!   files or data; encrypted PKCS#8 keys are decrypted here).
//! - `suites`: `ssl_ciphers` names to the suites rustls has.
//! - `verify`: the verifiers for `ssl_cert_reqs="none"` and
//!   `ssl_check_hostname=False` (the default one is rustls's own).
//! - `describe`: rustls's errors as messages that say what was wrong.

mod describe;
mod material;
mod suites;
mod verify;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::{Address, ConnectionConfig, TlsConfig, TlsVersion};
use crate::error::{Error, ErrorKind, Result};
use describe::Phase;

/// A TLS connection to the server.
pub(crate) type Stream = TlsStream<TcpStream>;

/// What every TLS connection of one client needs: rustls's configuration
/// and the name the server's certificate must carry.
pub(crate) struct Connector {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl Connector {
    /// The connector for `config`, or `None` when it asks for plain TCP.
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Option<Self>> {
        let Some(settings) = &config.tls else {
            return Ok(None);
        };
        let host = match &config.address {
            Address::Tcp { host, .. } => host,
            Address::Unix(_) => {
                return Err(invalid(
                    "ssl=True needs a TCP address: redis-server speaks TLS on its \
                     tls-port only, never on a Unix socket",
                ))
            }
        };
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| invalid(format!("{host:?} is not a host name TLS can verify")))?;
        Ok(Some(Self {
            connector: TlsConnector::from(Arc::new(client_config(settings)?)),
            server_name,
        }))
    }

    /// Runs the TLS handshake on a connected socket. `target` (host:port)
    /// is for messages.
    pub(crate) async fn handshake(
        &self,
        stream: TcpStream,
        target: &str,
    ) -> Result<TlsStream<TcpStream>> {
        self.connector
            .connect(self.server_name.clone(), stream)
            .await
            .map_err(|err| match describe::tls_error(&err, Phase::Handshake) {
                // TLS itself refused (a certificate, an alert, not TLS at
                // all): the same attempt would fail the same way again.
                Some(why) => Error::new(
                    ErrorKind::Connection,
                    format!("TLS handshake with {target} failed: {why}"),
                )
                .permanent(),
                // The socket failed under the handshake: perhaps transient.
                None => Error::new(
                    ErrorKind::Connection,
                    format!("TLS handshake with {target} failed: {err}"),
                ),
            })
    }
}

/// Builds rustls's configuration from the settings.
fn client_config(settings: &TlsConfig) -> Result<ClientConfig> {
    let provider = Arc::new(suites::provider(settings.ciphers.as_deref())?);
    let versions: &[&rustls::SupportedProtocolVersion] = match settings.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|err| {
            invalid(format!(
                "ssl_ciphers and ssl_min_version leave nothing to negotiate: {err}"
            ))
        })?;
    let verifier: Arc<dyn ServerCertVerifier> = if !settings.verify_peer {
        Arc::new(verify::RelaxedVerifier::accept_any(&provider))
    } else if settings.check_hostname {
        let roots = Arc::new(material::trust_anchors(settings)?);
        WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .build()
            .map_err(|err| invalid(format!("cannot verify server certificates: {err}")))?
    } else {
        let roots = Arc::new(material::trust_anchors(settings)?);
        Arc::new(verify::RelaxedVerifier::chain_only(roots, &provider))
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match material::client_identity(settings)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|err| invalid(describe::client_key_error(&err))),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// A TLS stream's halves for the connection's reader and writer tasks.
/// Their errors say what went wrong in TLS terms (a fatal alert from the
/// server, such as "certificate required", arrives on a read).
pub(crate) fn split(
    stream: TlsStream<TcpStream>,
    target: &str,
) -> (Described<ReadHalf<Stream>>, Described<WriteHalf<Stream>>) {
    let target: Arc<str> = Arc::from(target);
    let (reader, writer) = tokio::io::split(stream);
    (
        Described {
            inner: reader,
            target: Arc::clone(&target),
        },
        Described {
            inner: writer,
            target,
        },
    )
}

/// One half of a TLS stream whose errors are described (see [`split`]).
pub(crate) struct Described<T> {
    inner: T,
    target: Arc<str>,
}

impl<T> Described<T> {
    /// A TLS failure (rustls's error inside the I/O error) as a message that
    /// names the server; any other I/O error as it is.
    #[cold]
    fn describe(&self, err: io::Error) -> io::Error {
        match describe::tls_error(&err, Phase::Session) {
            Some(what) => io::Error::new(err.kind(), format!("TLS with {}: {what}", self.target)),
            None => err,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Described<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.describe(err))),
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Described<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.describe(err))),
            other => other,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.describe(err))),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(err)) => Poll::Ready(Err(self.describe(err))),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cold]
fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}
