//! What a client needs to know to reach its server: address, credentials,
//! database, protocol and timeouts. Built by the binding from the Python
//! constructor's keywords; validated here so every transport agrees.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

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

/// Everything needed to open (and reopen) a connection.
#[derive(Debug, Clone)]
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
}

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
        }
    }
}
