//! `ssl_ciphers`: which of rustls's cipher suites a connection may use.
//!
//! redis-py hands `ssl_ciphers` to OpenSSL, whose cipher strings are a small
//! language (`HIGH:!aNULL:@STRENGTH`) over suites rustls mostly does not have
//! (CBC modes, RSA key exchange, DHE). rustls takes no such string, and
//! accepting one while ignoring it would leave a user believing a policy is
//! enforced when it is not. So `ssl_ciphers` here is a list of suite names
//! only, each one that rustls has, in OpenSSL's spelling
//! (`ECDHE-RSA-AES128-GCM-SHA256`) or IANA's
//! (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`); anything else raises, naming
//! the keyword and the suites there are.
//!
//! As with OpenSSL, where `set_ciphers` restricts TLS 1.2 and leaves TLS 1.3's
//! suites alone: the list restricts the suites of each TLS version it names
//! at least one suite of, and leaves the other version's suites as they are.

use rustls::crypto::{ring, CryptoProvider};
use rustls::{CipherSuite, SupportedCipherSuite};

use super::invalid;
use crate::error::Result;

/// Every suite rustls's ring provider has: (OpenSSL name, IANA name, suite).
/// TLS 1.3 suites have one name in both spellings.
const NAMES: &[(&str, &str, CipherSuite)] = &[
    (
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// rustls's ring provider, its suites narrowed to `ciphers` when given.
pub(super) fn provider(ciphers: Option<&str>) -> Result<CryptoProvider> {
    let mut provider = ring::default_provider();
    if let Some(ciphers) = ciphers {
        provider.cipher_suites = select(ciphers, &provider.cipher_suites)?;
    }
    Ok(provider)
}

fn select(ciphers: &str, available: &[SupportedCipherSuite]) -> Result<Vec<SupportedCipherSuite>> {
    let mut named = Vec::new();
    for name in ciphers
        .split([':', ',', ' '])
        .filter(|name| !name.is_empty())
    {
        let Some(&(_, _, suite)) = NAMES
            .iter()
            .find(|(openssl, iana, _)| name == *openssl || name == *iana)
        else {
            return Err(invalid(format!(
                "ssl_ciphers: {name:?} is not a cipher suite rustls has. Babushka's TLS is \
                 rustls, which takes a list of suite names (OpenSSL's or IANA's spelling), not \
                 OpenSSL cipher expressions; the suites are {}",
                NAMES
                    .iter()
                    .map(|(openssl, _, _)| *openssl)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if !named.contains(&suite) {
            named.push(suite);
        }
    }
    if named.is_empty() {
        return Err(invalid("ssl_ciphers names no cipher suite"));
    }
    let is_tls13 = |suite: &SupportedCipherSuite| matches!(suite, SupportedCipherSuite::Tls13(_));
    let names_tls13 = available
        .iter()
        .any(|suite| is_tls13(suite) && named.contains(&suite.suite()));
    let names_tls12 = available
        .iter()
        .any(|suite| !is_tls13(suite) && named.contains(&suite.suite()));
    // In the caller's order of preference, then the untouched version's.
    let mut chosen: Vec<SupportedCipherSuite> = named
        .iter()
        .filter_map(|wanted| available.iter().find(|suite| suite.suite() == *wanted))
        .copied()
        .collect();
    chosen.extend(available.iter().copied().filter(|suite| {
        if is_tls13(suite) {
            !names_tls13
        } else {
            !names_tls12
        }
    }));
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suites(ciphers: &str) -> Vec<CipherSuite> {
        let available = ring::default_provider().cipher_suites;
        select(ciphers, &available)
            .unwrap()
            .iter()
            .map(SupportedCipherSuite::suite)
            .collect()
    }

    #[test]
    fn every_name_is_a_suite_rustls_has() {
        let available = ring::default_provider().cipher_suites;
        for (_, _, suite) in NAMES {
            assert!(available.iter().any(|s| s.suite() == *suite), "{suite:?}");
        }
        assert_eq!(available.len(), NAMES.len());
    }

    #[test]
    fn tls12_names_restrict_tls12_and_leave_tls13() {
        let chosen = suites("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        assert_eq!(
            chosen[0],
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        );
        assert_eq!(
            chosen[1],
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        );
        assert_eq!(
            chosen.len(),
            5,
            "two TLS 1.2 suites and all three TLS 1.3 ones"
        );
    }

    #[test]
    fn tls13_names_restrict_tls13_only() {
        let chosen = suites("TLS_CHACHA20_POLY1305_SHA256");
        assert_eq!(chosen[0], CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
        assert!(!chosen.contains(&CipherSuite::TLS13_AES_128_GCM_SHA256));
        assert_eq!(
            chosen.len(),
            7,
            "one TLS 1.3 suite and all six TLS 1.2 ones"
        );
    }

    #[test]
    fn openssl_expressions_are_refused_by_name() {
        let available = ring::default_provider().cipher_suites;
        let err = select("HIGH:!aNULL", &available).unwrap_err();
        assert!(err.message().contains("ssl_ciphers"), "{err}");
        assert!(err.message().contains("\"HIGH\""), "{err}");
        assert!(select(" : ", &available).is_err());
    }
}
