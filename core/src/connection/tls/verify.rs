//! The two ways of checking the server's certificate that rustls does not
//! ship, because they verify less than it does (redis-py's users ask for
//! them by name, so they are here, and nowhere else).
//!
//! Both still check the handshake's signatures with the certificate's key,
//! so the server has to hold the key of whatever certificate it presents.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// A verifier weaker than rustls's own, in one of the two ways redis-py's
/// users ask for by name.
#[derive(Debug)]
pub(super) struct RelaxedVerifier {
    /// `ssl_check_hostname=False`: the chain must lead to one of these
    /// trusted CAs and be valid now; the names in the certificate are not
    /// compared with the host (rustls's `verify_server_cert_signed_by_trust_anchor`
    /// is the check its own verifier makes before the name check).
    /// `None` for `ssl_cert_reqs="none"`: any certificate is accepted, as
    /// OpenSSL's `CERT_NONE` does (self-signed, expired, another host's).
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl RelaxedVerifier {
    /// `ssl_cert_reqs="none"`.
    pub(super) fn accept_any(provider: &CryptoProvider) -> Self {
        Self {
            roots: None,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// `ssl_check_hostname=False`.
    pub(super) fn chain_only(roots: Arc<RootCertStore>, provider: &CryptoProvider) -> Self {
        Self {
            roots: Some(roots),
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for RelaxedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
