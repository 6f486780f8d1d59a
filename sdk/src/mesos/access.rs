//! How the scheduler reaches the master: the principal and secret it authenticates with
//! (HTTP Basic on every request, as Mesos's `basic` HTTP framework authenticator expects)
//! and the certificates it trusts for an `https://` master (the Mozilla roots, and the
//! operator's own CA).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// A secret that never shows in logs, `Debug` output or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why the principal's secret or the CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// A file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// What the file is (`the secret file`, `the CA file`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The secret file holds no secret.
    #[error("the secret file {} is empty", .0.display())]
    EmptySecret(PathBuf),
    /// The CA file holds no usable certificate.
    #[error("the CA file {}: {why}", path.display())]
    BadCa {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// The principal, secret and trusted certificates of every request to the master.
#[derive(Clone)]
pub struct MasterAccess {
    principal: Option<String>,
    secret: Option<Secret>,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for MasterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterAccess")
            .field("principal", &self.principal)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Default for MasterAccess {
    /// No credentials; the Mozilla roots trusted.
    fn default() -> MasterAccess {
        MasterAccess {
            principal: None,
            secret: None,
            // Invariant: the ring provider supports the default protocol versions, and
            // the built-in roots are valid trust anchors, so this cannot fail.
            tls: Arc::new(
                client_config(Vec::new()).expect("the default TLS configuration is valid"),
            ),
        }
    }
}

impl MasterAccess {
    /// Access as `principal` (named in errors, and sent with `secret` when there is one),
    /// trusting the Mozilla roots and every certificate of the PEM `ca_pem`.
    pub fn new(
        principal: Option<String>,
        secret: Option<Secret>,
        ca_pem: Option<(&Path, &[u8])>,
    ) -> Result<MasterAccess, AccessError> {
        let extra = match ca_pem {
            None => Vec::new(),
            Some((path, pem)) => {
                let bad = |why: String| AccessError::BadCa {
                    path: path.to_path_buf(),
                    why,
                };
                let certs = CertificateDer::pem_slice_iter(pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no CERTIFICATE in the PEM".into()));
                }
                certs
            }
        };
        Ok(MasterAccess {
            principal,
            secret,
            tls: Arc::new(client_config(extra)?),
        })
    }

    /// Access as `principal` with the secret of `secret_file` (its first line) and the CA
    /// certificates of `ca_file`, all optional.
    pub fn from_files(
        principal: Option<String>,
        secret_file: Option<&Path>,
        ca_file: Option<&Path>,
    ) -> Result<MasterAccess, AccessError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| AccessError::Read {
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        let secret = match secret_file {
            None => None,
            Some(path) => {
                let bytes = read("the secret file", path)?;
                let text = String::from_utf8_lossy(&bytes);
                let secret = text.lines().next().unwrap_or_default().trim_end();
                if secret.is_empty() {
                    return Err(AccessError::EmptySecret(path.to_path_buf()));
                }
                Some(Secret::new(secret))
            }
        };
        let ca = match ca_file {
            None => None,
            Some(path) => Some((path, read("the CA file", path)?)),
        };
        MasterAccess::new(
            principal,
            secret,
            ca.as_ref().map(|(p, pem)| (*p, pem.as_slice())),
        )
    }

    /// The principal the scheduler authenticates as, if any.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// Whether a secret is sent.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The HTTP Basic user and password of every request, when there is a secret.
    fn basic(&self) -> Option<(&str, &str)> {
        let secret = self.secret.as_ref()?;
        Some((
            self.principal.as_deref().unwrap_or_default(),
            secret.expose(),
        ))
    }

    /// The `Authorization` header of every request (marked sensitive), when there is a
    /// secret.
    pub(super) fn authorization(&self) -> Option<http::HeaderValue> {
        use base64::Engine as _;
        let (principal, secret) = self.basic()?;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{secret}"));
        let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The TLS configuration of an `https://` master.
    pub(super) fn tls(&self) -> rustls::ClientConfig {
        (*self.tls).clone()
    }
}

/// A client configuration with the ring provider, trusting the Mozilla roots and `extra`.
fn client_config(
    extra: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra {
        roots.add(cert)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The TLS failure among the causes of `error`, if any: the master's certificate not
/// trusted, or a peer that does not speak TLS. Such a failure does not pass by itself.
pub(super) fn tls_failure<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // An I/O error's `source` skips the error it wraps: look at that one too.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_file_gives_its_first_line_and_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        let access = MasterAccess::from_files(Some("p".into()), Some(&path), None).unwrap();
        assert_eq!(access.basic(), Some(("p", "s3cret")));
        assert!(!format!("{access:?}").contains("s3cret"), "{access:?}");
        std::fs::write(&path, "\n").unwrap();
        let e = MasterAccess::from_files(Some("p".into()), Some(&path), None).unwrap_err();
        assert!(matches!(e, AccessError::EmptySecret(_)), "{e}");
        let missing = dir.path().join("missing");
        let e = MasterAccess::from_files(None, Some(&missing), None).unwrap_err();
        assert!(e.to_string().contains("the secret file"), "{e}");
        assert_eq!(MasterAccess::default().basic(), None);
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let e = MasterAccess::from_files(None, None, Some(&path)).unwrap_err();
        assert!(matches!(e, AccessError::BadCa { .. }), "{e}");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&path, cert.cert.pem()).unwrap();
        MasterAccess::from_files(None, None, Some(&path)).unwrap();
    }
}
