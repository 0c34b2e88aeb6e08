//! rustls's errors as messages a user can act on: what was wrong, and
//! which keyword changes it. rustls's own text names its enum variants
//! (`invalid peer certificate: UnknownIssuer`), which says little to someone
//! who never read rustls's docs.

use std::io;

use rustls::{AlertDescription, CertificateError, Error};

/// When a TLS failure happened: some alerts mean one thing in reply to our
/// hello and another later on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Handshake,
    Session,
}

/// The TLS failure inside an I/O error from tokio-rustls (which wraps
/// rustls's error as the source of an `InvalidData` error); `None` for a
/// plain I/O error.
pub(super) fn tls_error(err: &io::Error, phase: Phase) -> Option<String> {
    let tls = err.get_ref()?.downcast_ref::<Error>()?;
    Some(describe(tls, phase))
}

fn describe(err: &Error, phase: Phase) -> String {
    match err {
        Error::InvalidCertificate(cert) => server_certificate(cert),
        Error::AlertReceived(alert) => alert_received(*alert, phase),
        Error::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        Error::PeerIncompatible(what) => format!(
            "the server's TLS and this client's settings have nothing in common ({what:?}); \
             check ssl_min_version and ssl_ciphers"
        ),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. }
            if phase == Phase::Handshake =>
        {
            format!("the server did not answer in TLS (is this its tls-port?): {err}")
        }
        other => other.to_string(),
    }
}

fn server_certificate(err: &CertificateError) -> String {
    match err {
        CertificateError::Expired => "the server's certificate has expired".to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => format!(
            "the server's certificate has expired (it was valid until {} UTC)",
            date(not_after.as_secs())
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (or this machine's clock is wrong)"
                .to_owned()
        }
        CertificateError::UnknownIssuer => "the server's certificate has an unknown issuer: no \
             trusted CA signed it (pass its CA with ssl_ca_certs, or ssl_cert_reqs=\"none\" to \
             skip verification)"
            .to_owned(),
        CertificateError::NotValidForName => "hostname mismatch: the server's certificate is \
             not valid for the host connected to (pass ssl_check_hostname=False to skip this \
             check)"
            .to_owned(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "hostname mismatch: the server's certificate is not valid for {}; it names {} \
             (connect by one of those, or pass ssl_check_hostname=False)",
            expected.to_str(),
            if presented.is_empty() {
                "no host".to_owned()
            } else {
                presented
                    .iter()
                    .map(|name| bare_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        CertificateError::BadSignature => "the server's certificate has a bad signature".to_owned(),
        CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the server's certificate is not one for a TLS server (extended key usage)".to_owned()
        }
        other => format!("the server's certificate was rejected: {other:?}"),
    }
}

/// A name from the certificate as rustls reports it (`DnsName("localhost")`,
/// `IpAddress(127.0.0.1)`), without the wrapping.
fn bare_name(name: &str) -> &str {
    for kind in ["DnsName(", "IpAddress("] {
        if let Some(inner) = name.strip_prefix(kind).and_then(|n| n.strip_suffix(')')) {
            return inner.trim_matches('"');
        }
    }
    name
}

/// A fatal alert from the server: it refused something of ours.
fn alert_received(alert: AlertDescription, phase: Phase) -> String {
    match (alert, phase) {
        // TLS 1.3 servers check the client's certificate after the client's
        // side of the handshake is done, so these arrive in either phase.
        (AlertDescription::CertificateRequired, _) => "the server requires a client certificate \
             (mutual TLS): pass ssl_certfile and ssl_keyfile"
            .to_owned(),
        (AlertDescription::UnknownCA, _) => {
            "the server rejected the client certificate: unknown CA".to_owned()
        }
        (AlertDescription::CertificateExpired, _) => {
            "the server rejected the client certificate: it has expired".to_owned()
        }
        (
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied,
            _,
        ) => format!("the server rejected the client certificate ({alert:?})"),
        (AlertDescription::ProtocolVersion, Phase::Handshake) => format!(
            "the server accepted none of the TLS versions offered ({alert:?}); check \
             ssl_min_version"
        ),
        (AlertDescription::InsufficientSecurity, Phase::Handshake) => format!(
            "the server accepted none of the cipher suites offered ({alert:?}); check ssl_ciphers"
        ),
        (AlertDescription::HandshakeFailure, Phase::Handshake) => format!(
            "the server refused the handshake ({alert:?}): it accepted none of the versions or \
             cipher suites offered (check ssl_min_version and ssl_ciphers), or it requires a \
             client certificate (ssl_certfile and ssl_keyfile)"
        ),
        (other, _) => format!("the server sent a fatal TLS alert: {other:?}"),
    }
}

/// Why loading the client's certificate and key failed.
pub(super) fn client_key_error(err: &Error) -> String {
    match err {
        Error::InconsistentKeys(_) => {
            "ssl_keyfile: the private key does not belong to the certificate in ssl_certfile"
                .to_owned()
        }
        other => format!("ssl_keyfile: rustls cannot use this private key: {other}"),
    }
}

/// `YYYY-MM-DD HH:MM:SS` for seconds since the Unix epoch (UTC).
fn date(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's algorithm, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(date(0), "1970-01-01 00:00:00");
        assert_eq!(date(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(date(1_767_225_599), "2025-12-31 23:59:59");
    }

    #[test]
    fn certificate_failures_say_what_was_wrong() {
        let io = |err: Error| io::Error::new(io::ErrorKind::InvalidData, err);
        let tls_error = |err: &io::Error| tls_error(err, Phase::Handshake);
        let expired = tls_error(&io(Error::InvalidCertificate(CertificateError::Expired)));
        assert!(expired.unwrap().contains("certificate has expired"));
        let issuer = tls_error(&io(Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        )));
        assert!(issuer.unwrap().contains("unknown issuer"));
        let name = tls_error(&io(Error::InvalidCertificate(
            CertificateError::NotValidForName,
        )));
        assert!(name.unwrap().contains("hostname mismatch"));
        let alert = tls_error(&io(Error::AlertReceived(
            AlertDescription::CertificateRequired,
        )));
        assert!(alert.unwrap().contains("requires a client certificate"));
        assert_eq!(tls_error(&io::Error::other("plain")), None);
    }

    #[test]
    fn certificate_names_lose_rustls_wrapping() {
        assert_eq!(bare_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(bare_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(bare_name("DirectoryName"), "DirectoryName");
    }

    #[test]
    fn handshake_alerts_mean_something_else_later() {
        let io = |err: Error| io::Error::new(io::ErrorKind::InvalidData, err);
        let alert = io(Error::AlertReceived(AlertDescription::ProtocolVersion));
        assert!(tls_error(&alert, Phase::Handshake)
            .unwrap()
            .contains("ssl_min_version"));
        assert!(tls_error(&alert, Phase::Session)
            .unwrap()
            .contains("fatal TLS alert: ProtocolVersion"));
    }
}
