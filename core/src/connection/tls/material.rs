//! The certificates and keys a TLS client uses, read from the files and
//! data its settings name. Every failure names the keyword it came from.

use std::path::Path;
use std::sync::OnceLock;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;

use super::invalid;
use crate::config::TlsConfig;
use crate::error::Result;

/// The CAs trusted to sign the server's certificate: the system's trust
/// store plus those the settings name. redis-py does the same (its context
/// starts from `ssl.create_default_context()`, which loads the system's
/// store, and `ssl_ca_*` add to it), so a program moved from redis-py
/// trusts the same servers.
pub(super) fn trust_anchors(settings: &TlsConfig) -> Result<RootCertStore> {
    let mut roots = system_roots().clone();
    if let Some(path) = &settings.ca_file {
        let pem = read("ssl_ca_certs", path)?;
        let certs = pem_certificates(&pem)
            .map_err(|why| invalid(format!("ssl_ca_certs: {}: {why}", path.display())))?;
        add_all(&mut roots, certs, "ssl_ca_certs", path)?;
    }
    if let Some(dir) = &settings.ca_dir {
        // Every PEM file in the directory (OpenSSL looks them up by hash
        // name; reading them all trusts the same set). Files that are not
        // PEM certificates are skipped, as OpenSSL never looks at them.
        let found = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        if found.certs.is_empty() {
            let why = found.errors.first().map_or_else(
                || "no PEM certificate in it".to_owned(),
                ToString::to_string,
            );
            return Err(invalid(format!("ssl_ca_path: {}: {why}", dir.display())));
        }
        add_all(&mut roots, found.certs, "ssl_ca_path", dir)?;
    }
    if let Some(data) = &settings.ca_data {
        let certs = if contains(data, b"-----BEGIN") {
            pem_certificates(data)
        } else {
            der_certificates(data)
        }
        .map_err(|why| invalid(format!("ssl_ca_data: {why}")))?;
        add_all(&mut roots, certs, "ssl_ca_data", Path::new("the data"))?;
    }
    if roots.is_empty() {
        return Err(invalid(
            "no CA certificate to verify the server with: the system's trust store is empty \
             or missing (SSL_CERT_FILE or SSL_CERT_DIR can point at one); pass ssl_ca_certs, \
             or ssl_cert_reqs=\"none\" to skip verification",
        ));
    }
    Ok(roots)
}

/// The system's trust store, read once per process: it rarely changes, and
/// reading and parsing it (a hundred-odd certificates) for every client
/// would make each constructor slow.
///
/// Why the system's store (rustls-native-certs) rather than a copy of
/// Mozilla's compiled in (webpki-roots): it is what redis-py and OpenSSL
/// trust, it follows the distribution's updates, and a company CA
/// installed on the machine works as it does for every other program.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        // A store with a few unreadable files still has the rest; an empty
        // one is reported by `trust_anchors` when nothing else is given.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        roots
    })
}

fn add_all(
    roots: &mut RootCertStore,
    certs: Vec<CertificateDer<'static>>,
    keyword: &str,
    path: &Path,
) -> Result<()> {
    for cert in certs {
        roots.add(cert).map_err(|err| {
            invalid(format!(
                "{keyword}: a certificate in {} cannot be a trust anchor: {err}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// The client's certificate chain and private key (`ssl_certfile`,
/// `ssl_keyfile`, `ssl_password`), or `None` when no certificate is given.
pub(super) fn client_identity(
    settings: &TlsConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    let Some(cert_file) = &settings.cert_file else {
        if settings.key_file.is_some() {
            return Err(invalid(
                "ssl_keyfile needs ssl_certfile: the certificate the key belongs to",
            ));
        }
        return Ok(None);
    };
    let cert_pem = read("ssl_certfile", cert_file)?;
    let chain = pem_certificates(&cert_pem)
        .map_err(|why| invalid(format!("ssl_certfile: {}: {why}", cert_file.display())))?;
    // As Python's `load_cert_chain`: without a key file, the key follows
    // the certificates in the certificate's file.
    let (keyword, key_path, key_pem) = match &settings.key_file {
        Some(path) => ("ssl_keyfile", path, read("ssl_keyfile", path)?),
        None => ("ssl_certfile", cert_file, cert_pem),
    };
    let key = private_key(&key_pem, settings.key_password.as_deref())
        .map_err(|why| invalid(format!("{keyword}: {}: {why}", key_path.display())))?;
    Ok(Some((chain, key)))
}

/// The first private key in a PEM text: PKCS#8, PKCS#1 (RSA) or SEC1 (EC),
/// or an encrypted PKCS#8 key, decrypted with `password`.
///
/// Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2: what `openssl pkcs8
/// -topk8`, `openssl genpkey -aes256` and OpenSSL 3's `openssl rsa -aes256`
/// write) is decrypted with `RustCrypto`'s `pkcs8` crate, pure Rust and
/// small. OpenSSL's legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`, an
/// MD5-based scheme from before PKCS#8) is refused with the command that
/// converts it: supporting it would mean OpenSSL itself, or a second
/// implementation of an obsolete format.
fn private_key(
    pem: &[u8],
    password: Option<&[u8]>,
) -> std::result::Result<PrivateKeyDer<'static>, String> {
    if contains(pem, b"Proc-Type: 4,ENCRYPTED") {
        return Err(
            "the key is encrypted in OpenSSL's legacy PEM format, which Babushka cannot \
             decrypt; convert it to encrypted PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc \
             -in KEY -out NEW_KEY`"
                .to_owned(),
        );
    }
    if let Some(section) = pem_section(pem, "ENCRYPTED PRIVATE KEY") {
        let Some(password) = password else {
            return Err(
                "the private key is encrypted: pass its password as ssl_password".to_owned(),
            );
        };
        let (_, der) = pkcs8::der::pem::decode_vec(section)
            .map_err(|err| format!("malformed encrypted private key: {err}"))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|err| format!("malformed encrypted private key: {err}"))?;
        let plain = info.decrypt(password).map_err(|err| {
            format!("cannot decrypt the private key (is ssl_password right?): {err}")
        })?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|err| match err {
        pem::Error::NoItemsFound => "no private key in it (PEM \"PRIVATE KEY\", \"RSA PRIVATE \
                                     KEY\" or \"EC PRIVATE KEY\")"
            .to_owned(),
        other => format!("malformed private key: {other}"),
    })
}

fn read(keyword: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|err| invalid(format!("{keyword}: cannot read {}: {err}", path.display())))
}

/// Every certificate in a PEM text; at least one.
fn pem_certificates(pem: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| format!("malformed PEM: {err}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".to_owned());
    }
    Ok(certs)
}

/// DER certificates laid end to end (what Python's `cadata` takes as
/// bytes); at least one.
fn der_certificates(mut der: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    while !der.is_empty() {
        let len = der_length(der).ok_or("neither PEM text nor DER certificates")?;
        let (cert, rest) = der.split_at(len);
        certs.push(CertificateDer::from(cert.to_vec()));
        der = rest;
    }
    if certs.is_empty() {
        return Err("no certificate in it".to_owned());
    }
    Ok(certs)
}

/// The length, header included, of the DER SEQUENCE at the start of `der`,
/// if it is one and fits.
fn der_length(der: &[u8]) -> Option<usize> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (body, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let body = rest[..count]
            .iter()
            .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
        (body, 2 + count)
    };
    let total = header.checked_add(body)?;
    (total <= der.len()).then_some(total)
}

/// The PEM block labelled `label`, from its BEGIN line to its END line.
fn pem_section<'a>(pem: &'a [u8], label: &str) -> Option<&'a [u8]> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = find(pem, begin.as_bytes())?;
    let stop = start + find(&pem[start..], end.as_bytes())? + end.len();
    Some(&pem[start..stop])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_certificates_split_end_to_end() {
        // Two minimal SEQUENCEs, short and long length forms.
        let mut data = vec![0x30, 0x02, 0x05, 0x00];
        data.extend([0x30, 0x81, 0x03, 1, 2, 3]);
        let certs = der_certificates(&data).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[1].as_ref(), &[0x30, 0x81, 0x03, 1, 2, 3]);
        assert!(der_certificates(&[0x30, 0x05, 0x00]).is_err(), "truncated");
        assert!(der_certificates(b"not a certificate").is_err());
        assert!(der_certificates(&[]).is_err());
    }

    #[test]
    fn pem_sections_are_found_by_label() {
        let text = b"junk\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\nmore";
        let section = pem_section(text, "ENCRYPTED PRIVATE KEY").unwrap();
        assert!(section.starts_with(b"-----BEGIN"));
        assert!(section.ends_with(b"KEY-----"));
        assert!(pem_section(text, "CERTIFICATE").is_none());
    }

    #[test]
    fn keys_that_cannot_be_used_say_why() {
        let legacy = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n";
        assert!(private_key(legacy, Some(b"pw"))
            .unwrap_err()
            .contains("pkcs8 -topk8"));
        let encrypted =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(private_key(encrypted, None)
            .unwrap_err()
            .contains("ssl_password"));
        assert!(private_key(b"nothing", None)
            .unwrap_err()
            .contains("no private key"));
    }
}
