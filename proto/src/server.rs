//! Serving an axum [`Router`] over HTTP/1.1 with bounds on slow and idle clients, for the
//! operator API and the embedded master alike.
//!
//! A client that opens a connection and sends its request headers slowly, or never,
//! holds a file descriptor and buffers for as long as it likes under a plain server. Here
//! every connection must deliver each request's headers within
//! [`ServerLimits::header_read_timeout`] (an idle keep-alive connection waiting for its
//! next request counts as slow, and is closed too), its body within
//! [`ServerLimits::body_read_timeout`] of the headers (reading it fails after that), and at
//! most
//! [`ServerLimits::max_connections`] connections are open at once: while that many are
//! open, new ones wait in the listen backlog until one closes.
//!
//! With a [`ServerTls`] the server speaks HTTPS only: each connection's TLS handshake must
//! end within the header timeout too.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use hyper::body::{Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;

/// How long the server waits after a failed `accept` (e.g. out of file descriptors)
/// before accepting again, so a full descriptor table does not spin the loop.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The bounds a server puts on its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// The longest a connection may take to send one request's headers, or stay idle
    /// between requests; then it is closed.
    pub header_read_timeout: Duration,
    /// The longest a request's body may take to arrive, counted from its headers.
    pub body_read_timeout: Duration,
    /// The most connections open at once; further ones wait to be accepted.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    /// 10 seconds for the headers, 30 for the body, 256 connections.
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

/// A server's TLS identity: its certificate chain and private key, read from PEM.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        f.write_str("ServerTls { .. }")
    }
}

/// Why a certificate or key cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate PEM holds no certificate, or a malformed one.
    #[error("no usable certificate in the PEM: {0}")]
    Certificate(String),
    /// The key PEM holds no private key, or a malformed one.
    #[error("no usable private key in the PEM: {0}")]
    Key(String),
    /// The certificate and the key do not make a TLS identity (e.g. they do not match).
    #[error("the certificate and key cannot serve TLS: {0}")]
    Config(#[from] rustls::Error),
}

impl ServerTls {
    /// The identity of `cert_pem` (the certificate first, then its chain) and `key_pem`
    /// (PKCS#8, PKCS#1 or SEC1), with TLS 1.2 and 1.3 and the ring provider.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerTls, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(TlsError::Certificate("no CERTIFICATE section".into()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// [`ServerTls::from_pem`] of the files `cert` and `key`.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        ServerTls::from_pem(&read(cert)?, &read(key)?)
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then waits
/// for open requests to finish (streaming responses end when their stream does).
///
/// Each request carries its peer's address as an extension,
/// `axum::extract::ConnectInfo<SocketAddr>`. A failed `accept` (e.g. no file descriptor
/// left) is logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_with(listener, router, limits, None, shutdown).await;
}

/// [`serve`], over TLS when `tls` is given (then only over TLS).
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let body_read_timeout = limits.body_read_timeout;
    let router = router.layer(axum::middleware::map_request(move |request: Request| {
        std::future::ready(request.map(|body| {
            Body::new(DeadlineBody {
                body,
                deadline: Box::pin(tokio::time::sleep(body_read_timeout)),
            })
        }))
    }));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // Invariant: the semaphore is never closed, so acquiring only waits.
        let Ok(slot) = slot else { break };
        let stream = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match stream {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed; retrying");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let watcher = graceful.watcher();
        // The peer's address, for handlers and middleware that check it.
        let router = router
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, router, limits, watcher).await,
                Some(tls) => {
                    let handshake = tls.acceptor.accept(stream);
                    match tokio::time::timeout(limits.header_read_timeout, handshake).await {
                        Ok(Ok(stream)) => serve_connection(stream, router, limits, watcher).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves HTTP/1.1 on one connection until it closes or the server shuts down.
async fn serve_connection<IO>(io: IO, router: Router, limits: ServerLimits, watcher: Watcher)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(router));
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<Sleep>>,
}

/// The error of a body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the server's body read timeout")]
struct BodyTimeout;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Errors of one incoming connection (not of the listener): skip it and go on.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
