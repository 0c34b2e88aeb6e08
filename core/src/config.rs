//! What a client needs to know to reach its server: address, credentials,
//! database, protocol, timeouts and TLS. Built by the binding from the Python
//! constructor's keywords; validated in the core (when the client is made),
//! so every transport agrees.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::retry::RetryPolicy;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

/// The RESP version spoken on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

impl Protocol {
    pub fn from_number(number: u8) -> Result<Self> {
        match number {
            2 => Ok(Self::Resp2),
            3 => Ok(Self::Resp3),
            other => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("protocol must be 2 or 3, got {other}"),
            )),
        }
    }
}

/// What a connection authenticates with (`AUTH [username] password`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: String,
}

impl fmt::Debug for Credentials {
    /// Leaves the password out, so a logged value does not leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"...")
            .finish()
    }
}

/// What a [`CredentialProvider`] returns: the credentials, when it has them.
pub type CredentialFuture = Pin<Box<dyn Future<Output = Result<Credentials>> + Send>>;

/// Asked for fresh credentials every time a connection is opened (and so on
/// every reconnect), so rotating passwords and tokens work: redis-py's
/// `credential_provider`. The binding makes one from the Python object.
#[derive(Clone)]
pub struct CredentialProvider(pub Arc<dyn Fn() -> CredentialFuture + Send + Sync>);

impl fmt::Debug for CredentialProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialProvider(..)")
    }
}

/// Everything needed to open (and reopen) a connection.
#[derive(Clone)]
pub struct ConnectionConfig {
    pub address: Address,
    pub db: i64,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_name: Option<String>,
    pub protocol: Protocol,
    /// How long one connection attempt may take.
    pub connect_timeout: Option<Duration>,
    /// How long a request may wait for its reply.
    pub response_timeout: Option<Duration>,
    /// At most this many requests wait for replies at once; more wait their turn.
    pub max_in_flight: Option<usize>,
    /// At most this many dedicated connections (blocking commands, `WATCH`
    /// sessions) at once; the shared connection is not counted.
    pub max_connections: Option<usize>,
    /// Speak TLS to the server (`ssl=True`, `rediss://`); `None` for plain TCP.
    pub tls: Option<TlsConfig>,
    /// How long a request that needs a dedicated connection waits for one
    /// when all `max_connections` are in use (redis-py's
    /// `BlockingConnectionPool`): `None` fails it at once (redis-py's
    /// default pool), `Some(None)` waits for as long as it takes.
    pub lease_wait: Option<Option<Duration>>,
    /// Every request, blocking commands included, runs on the one shared
    /// connection (redis-py's `single_connection_client=True`): a `BLPOP`
    /// then holds up the client's later requests until it returns.
    pub single_connection: bool,
    /// TCP keep-alive on the client's TCP sockets; `None` turns it off.
    pub keepalive: Option<Keepalive>,
    /// `CLIENT SETINFO LIB-NAME` sent in the handshake; `None` sends none.
    pub lib_name: Option<String>,
    /// `CLIENT SETINFO LIB-VER` sent in the handshake; `None` sends none.
    pub lib_version: Option<String>,
    /// How connection attempts are spaced and which failed requests are
    /// sent again (see [`crate::retry`]).
    pub retry: RetryPolicy,
    /// A connection idle longer than this is checked (`PING`) before the
    /// next request is written to it (`health_check_interval`).
    pub health_check_interval: Option<Duration>,
    /// Where fresh credentials come from at each connect; when set,
    /// `username` and `password` are not used.
    pub credential_provider: Option<CredentialProvider>,
    /// Send `READONLY` when connecting, so a cluster replica serves reads.
    pub readonly: bool,
    /// A Redis Cluster: `address` is one of its nodes, where the client
    /// learns the rest; `None` for a standalone server.
    pub cluster: Option<ClusterOptions>,
    /// A Sentinel-managed service: the address of every connection is asked
    /// of these sentinels when it is opened (`address` is then unused);
    /// `None` for a server at a fixed address.
    pub sentinel: Option<SentinelOptions>,
}

impl fmt::Debug for ConnectionConfig {
    /// Leaves the password out, so a logged config does not leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("address", &self.address)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "..."))
            .field("client_name", &self.client_name)
            .field("protocol", &self.protocol)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls)
            .field("lease_wait", &self.lease_wait)
            .field("single_connection", &self.single_connection)
            .field("keepalive", &self.keepalive)
            .field("lib_name", &self.lib_name)
            .field("lib_version", &self.lib_version)
            .field("retry", &self.retry)
            .field("health_check_interval", &self.health_check_interval)
            .field("credential_provider", &self.credential_provider)
            .field("readonly", &self.readonly)
            .field("cluster", &self.cluster)
            .field("sentinel", &self.sentinel)
            .finish()
    }
}

/// How a cluster client uses its cluster (redis-py's `RedisCluster` keywords).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// More nodes to learn the cluster from, tried after `address`
    /// (`startup_nodes`).
    pub seeds: Vec<Address>,
    /// Send read-only commands to the slot's replicas too, in turn with its
    /// primary (their connections send `READONLY`).
    pub read_from_replicas: bool,
    /// Refuse a slot map in which a slot has no node.
    pub require_full_coverage: bool,
}

/// Which node of a Sentinel-managed service a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SentinelRole {
    /// The primary (redis-py's `master_for`).
    #[default]
    Primary,
    /// A replica in good health, else the primary (`slave_for`).
    Replica,
}

/// How a client finds its service through sentinels (redis-py's
/// `Sentinel(...)` and `master_for`/`slave_for`).
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelOptions {
    /// The sentinels, asked in turn.
    pub sentinels: Vec<Address>,
    /// The name the sentinels monitor the service by.
    pub service: String,
    pub role: SentinelRole,
    /// Credentials and TLS of the sentinels themselves (redis-py's
    /// `sentinel_kwargs`), which may differ from the servers'.
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<TlsConfig>,
    /// A primary is used only when the sentinel asked sees at least this
    /// many other sentinels (`min_other_sentinels`).
    pub min_other_sentinels: usize,
    /// Connect to this host instead of the primary's announced ip, on its
    /// announced port (`force_master_ip`).
    pub force_host: Option<String>,
}

impl fmt::Debug for SentinelOptions {
    /// Leaves the sentinels' password out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelOptions")
            .field("sentinels", &self.sentinels)
            .field("service", &self.service)
            .field("role", &self.role)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "..."))
            .field("tls", &self.tls)
            .field("min_other_sentinels", &self.min_other_sentinels)
            .field("force_host", &self.force_host)
            .finish()
    }
}

/// TCP keep-alive probing: after `idle` without traffic, a probe every
/// `interval`; the connection is given up after `count` unanswered probes.
/// A field left `None` keeps the operating system's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub idle: Option<Duration>,
    pub interval: Option<Duration>,
    pub count: Option<u32>,
}

impl Default for Keepalive {
    /// redis-py's defaults with `socket_keepalive=True`: probe after 30 s
    /// idle, every 5 s, give up after 3.
    fn default() -> Self {
        Self {
            idle: Some(Duration::from_secs(30)),
            interval: Some(Duration::from_secs(5)),
            count: Some(3),
        }
    }
}

/// The library name `CLIENT SETINFO` reports unless told otherwise.
pub const LIB_NAME: &str = "babushka";
/// The library version `CLIENT SETINFO` reports unless told otherwise.
pub const LIB_VERSION: &str = env!("CARGO_PKG_VERSION");

impl ConnectionConfig {
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self {
            address: Address::Tcp {
                host: host.into(),
                port,
            },
            db: 0,
            username: None,
            password: None,
            client_name: None,
            protocol: Protocol::Resp2,
            connect_timeout: None,
            response_timeout: None,
            max_in_flight: None,
            max_connections: None,
            tls: None,
            lease_wait: None,
            single_connection: false,
            keepalive: Some(Keepalive::default()),
            lib_name: Some(LIB_NAME.to_owned()),
            lib_version: Some(LIB_VERSION.to_owned()),
            retry: RetryPolicy::default(),
            health_check_interval: None,
            credential_provider: None,
            readonly: false,
            cluster: None,
            sentinel: None,
        }
    }
}

/// The lowest TLS version a connection may use. rustls speaks TLS 1.2 and
/// 1.3 only, so there is nothing below 1.2 to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    #[default]
    Tls12,
    Tls13,
}

/// TLS settings, as redis-py's `ssl_*` keywords give them. Files are read,
/// keys decrypted and names checked when the client is made (so a mistake
/// raises in the constructor, on every transport), not at each connect.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Verify the server's certificate chain (`ssl_cert_reqs` other than
    /// `"none"`; for a client, `"optional"` means the same as `"required"`).
    pub verify_peer: bool,
    /// Check that the certificate names the host connected to
    /// (`ssl_check_hostname`); only when `verify_peer`.
    pub check_hostname: bool,
    /// A PEM file of CA certificates to trust (`ssl_ca_certs`).
    pub ca_file: Option<PathBuf>,
    /// A directory of PEM files of CA certificates (`ssl_ca_path`).
    pub ca_dir: Option<PathBuf>,
    /// CA certificates in PEM text or DER bytes (`ssl_ca_data`).
    pub ca_data: Option<Vec<u8>>,
    /// The client's certificate chain, PEM (`ssl_certfile`), for servers
    /// that ask for one (mutual TLS). Its key is in `key_file`, or after the
    /// certificates in the same file.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key, PEM (`ssl_keyfile`).
    pub key_file: Option<PathBuf>,
    /// The password of an encrypted (PKCS#8) private key (`ssl_password`).
    pub key_password: Option<Vec<u8>>,
    /// The lowest version to negotiate (`ssl_min_version`).
    pub min_version: TlsVersion,
    /// Cipher suites to allow, by OpenSSL or IANA name, separated by `:`
    /// (`ssl_ciphers`); `None` for rustls's defaults.
    pub ciphers: Option<String>,
}

impl Default for TlsConfig {
    /// redis-py's defaults: verify the chain and the host name against the
    /// system's trust store.
    fn default() -> Self {
        Self {
            verify_peer: true,
            check_hostname: true,
            ca_file: None,
            ca_dir: None,
            ca_data: None,
            cert_file: None,
            key_file: None,
            key_password: None,
            min_version: TlsVersion::Tls12,
            ciphers: None,
        }
    }
}

impl fmt::Debug for TlsConfig {
    /// Leaves the key's password out, so a logged config does not leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("verify_peer", &self.verify_peer)
            .field("check_hostname", &self.check_hostname)
            .field("ca_file", &self.ca_file)
            .field("ca_dir", &self.ca_dir)
            .field("ca_data", &self.ca_data.as_ref().map(Vec::len))
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("key_password", &self.key_password.as_ref().map(|_| "..."))
            .field("min_version", &self.min_version)
            .field("ciphers", &self.ciphers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config or credentials printed for a log never show the password.
    #[test]
    fn debug_output_leaves_passwords_out() {
        let mut config = ConnectionConfig::tcp("localhost", 6379);
        config.username = Some("ada".into());
        config.password = Some("s3cret".into());
        config.tls = Some(TlsConfig {
            key_password: Some(b"s3cret".to_vec()),
            ..TlsConfig::default()
        });
        let shown = format!("{config:?}");
        assert!(
            shown.contains("ada") && !shown.contains("s3cret"),
            "{shown}"
        );
        let credentials = Credentials {
            username: None,
            password: "s3cret".into(),
        };
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }
}
