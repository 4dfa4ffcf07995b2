//! TLS probe: connects to a server, records the certificate chain it serves with the verdict of a
//! real verifier on it, then closes without sending application data.
//!
//! The probe completes the handshake for any chain so the chain can be inspected, but the
//! verdict comes from rustls' `WebPkiServerVerifier` (see [`danger::InspectingVerifier`]).

mod connect;
mod danger;
mod recorder;
mod verdict;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ProtocolVersion, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use self::danger::InspectingVerifier;
use self::recorder::RecordingStream;

/// Default bound on resolve, connect and handshake used by [`ProbeTarget::new`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on sending close_notify after a successful handshake. It comes on top of
/// [`ProbeTarget::timeout`] so that a handshake finishing just before the deadline still closes
/// cleanly.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Server to probe and the trust settings to judge its chain with.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// IP literal (`[::1]` brackets allowed) or DNS name to connect to.
    pub host: String,
    pub port: u16,
    /// Name sent as SNI and checked against the certificate. When `None`, `host` is used: an IP
    /// host is checked as an IP address and no SNI is sent, a DNS host is sent as SNI.
    pub server_name: Option<String>,
    /// Bound on resolve, connect and handshake together.
    pub timeout: Duration,
    /// Certificates trusted as roots in addition to the system roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Intermediate CA certificates from the user's own files (the chain after the leaf in the
    /// certificate file, the intermediates in the CA file). They are never trusted. They only
    /// show that a leaf whose issuer the server does not send has a known issuer, which makes
    /// the verdict [`Verdict::ChainIncomplete`] instead of [`Verdict::Untrusted`].
    pub known_intermediates: Vec<CertificateDer<'static>>,
}

impl ProbeTarget {
    /// Returns a target for `host:port` with no explicit server name, [`DEFAULT_TIMEOUT`] and
    /// only the system roots.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            server_name: None,
            timeout: DEFAULT_TIMEOUT,
            extra_roots: Vec::new(),
            known_intermediates: Vec::new(),
        }
    }
}

/// Certificate chain a server presented, with the verifier's verdict on it.
#[derive(Debug, Clone)]
pub struct ServedChain {
    /// Certificates as presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Verdict of rustls' `WebPkiServerVerifier` on `chain`.
    pub verdict: Verdict,
    /// Negotiated protocol version, e.g. "TLSv1.3".
    pub protocol: Option<String>,
    /// Peer address the probe connected to.
    pub address: SocketAddr,
}

/// Verdict of a standard verifier on a served chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    /// The chain leads to a trusted root and the leaf is valid now for the checked name.
    Trusted,
    /// A certificate in the chain is past its notAfter date.
    Expired,
    /// A certificate in the chain is before its notBefore date.
    NotYetValid,
    /// The leaf is not valid for the checked name. `presented` lists the leaf's subjectAltName
    /// DNS names and IP addresses.
    NameMismatch { presented: Vec<String> },
    /// The chain is complete up to a CA that the trust store does not contain.
    Untrusted,
    /// The server did not send an intermediate certificate of its chain (the leaf names where
    /// to download its issuer, or a known intermediate issued the last certificate sent), or
    /// sent one with the right name but another key (e.g. a stale intermediate).
    ChainIncomplete,
    /// A certificate in the chain is revoked.
    Revoked,
    /// Any other verification failure, with the verifier's message.
    Other(String),
}

/// Failure to obtain a served chain.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("failed to resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },

    #[error("failed to connect to {address}: {source}")]
    Unreachable {
        address: String,
        source: std::io::Error,
    },

    #[error("timed out after {after:?} probing {address}")]
    Timeout { address: String, after: Duration },

    #[error("peer at {address} is not speaking TLS: {detail}")]
    NotTls { address: String, detail: String },

    #[error("TLS handshake with {address} failed: {detail}")]
    Handshake { address: String, detail: String },

    #[error("invalid server name {name:?}")]
    InvalidServerName { name: String },

    #[error("extra root certificate #{index} is invalid: {detail}")]
    InvalidExtraRoot { index: usize, detail: String },

    #[error("failed to set up the TLS client: {detail}")]
    Setup { detail: String },

    #[error("failed to start the probe runtime: {detail}")]
    Runtime { detail: String },
}

/// Connects to `target`, completes a TLS handshake, and returns the chain the server presented
/// with the verifier's verdict on it.
///
/// Resolve, connect and handshake together are bounded by `target.timeout`. Connection
/// attempts go through the resolved addresses in order until one accepts. No application data
/// is sent: after the handshake the probe sends close_notify and closes.
pub async fn probe(target: &ProbeTarget) -> Result<ServedChain, ProbeError> {
    let server_name = server_name_for(target)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = root_store(&target.extra_roots)?;
    let verifier = Arc::new(InspectingVerifier::new(
        roots,
        &provider,
        target.known_intermediates.clone(),
    ));
    let config = client_config(provider, verifier.clone())?;

    let deadline = Instant::now() + target.timeout;
    let mut last_address = None;
    let handshake = connect_and_handshake(target, server_name, config, deadline, &mut last_address);
    let (stream, address) = match tokio::time::timeout_at(deadline, handshake).await {
        Ok(result) => result?,
        Err(_elapsed) => {
            return Err(ProbeError::Timeout {
                address: describe_address(target, last_address),
                after: target.timeout,
            })
        }
    };

    let served = served_chain(&stream, &verifier, address);
    close(stream).await;
    served
}

/// Runs [`probe`] on a new current-thread runtime. Returns [`ProbeError::Runtime`] when called
/// from inside a tokio runtime, where blocking would stall it. Use [`probe`] there.
pub fn probe_blocking(target: &ProbeTarget) -> Result<ServedChain, ProbeError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ProbeError::Runtime {
            detail: "probe_blocking was called inside a tokio runtime".to_string(),
        });
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| ProbeError::Runtime {
            detail: error.to_string(),
        })?;
    runtime.block_on(probe(target))
}

/// Returns the name to send and verify: `server_name` if set, else `host`.
fn server_name_for(target: &ProbeTarget) -> Result<ServerName<'static>, ProbeError> {
    let name = match &target.server_name {
        Some(name) => name.clone(),
        None => strip_brackets(&target.host).to_string(),
    };

    ServerName::try_from(name.clone()).map_err(|_| ProbeError::InvalidServerName { name })
}

/// Removes the brackets around an IPv6 literal such as `[::1]`.
fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host)
}

/// Builds the trust store from the system roots plus `extra_roots`.
fn root_store(extra_roots: &[CertificateDer<'static>]) -> Result<RootCertStore, ProbeError> {
    let mut roots = RootCertStore::empty();
    let (_added, ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
    if ignored > 0 {
        tracing::debug!(
            ignored,
            "skipped system root certificates that failed to parse"
        );
    }

    for (index, root) in extra_roots.iter().enumerate() {
        roots
            .add(root.clone())
            .map_err(|error| ProbeError::InvalidExtraRoot {
                index,
                detail: error.to_string(),
            })?;
    }

    Ok(roots)
}

/// Returns the system root certificates, loaded once per process. A failure to load some or all
/// of them is logged, and the probe continues with what loaded plus the extra roots.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();

    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "failed to load system root certificates");
        }
        if loaded.certs.is_empty() {
            tracing::warn!(
                "no system root certificates loaded, so only the extra roots are trusted"
            );
        }
        loaded.certs
    })
}

/// Builds a client config that accepts any chain through `verifier` and never resumes a
/// session, so every probe runs a full handshake and reaches the verifier.
fn client_config(
    provider: Arc<CryptoProvider>,
    verifier: Arc<InspectingVerifier>,
) -> Result<Arc<ClientConfig>, ProbeError> {
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ProbeError::Setup {
            detail: error.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Resolves, connects and completes the handshake. Stores each address it tries in
/// `last_address` so the caller can name it when the deadline cuts this short.
async fn connect_and_handshake(
    target: &ProbeTarget,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
    deadline: Instant,
    last_address: &mut Option<SocketAddr>,
) -> Result<
    (
        TlsStream<RecordingStream<tokio::net::TcpStream>>,
        SocketAddr,
    ),
    ProbeError,
> {
    let host = strip_brackets(&target.host);
    let addresses = connect::resolve(host, target.port).await?;
    let (tcp, address) =
        connect::connect_first(&addresses, deadline, target.timeout, last_address).await?;

    let connector = TlsConnector::from(config);
    let handshake = connector.connect(server_name, RecordingStream::new(tcp));
    match handshake.into_fallible().await {
        Ok(stream) => Ok((stream, address)),
        Err((error, recorded)) => Err(recorder::classify_failure(address, &error, &recorded)),
    }
}

/// Reads the presented chain, protocol and verdict from a completed handshake.
fn served_chain(
    stream: &TlsStream<RecordingStream<tokio::net::TcpStream>>,
    verifier: &InspectingVerifier,
    address: SocketAddr,
) -> Result<ServedChain, ProbeError> {
    let connection = stream.get_ref().1;

    let chain: Vec<CertificateDer<'static>> = connection
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|certificate| certificate.clone().into_owned())
        .collect();

    // The verifier runs in every full handshake that presents certificates, and resumption is
    // disabled, so a missing verdict means the server completed a handshake without a chain.
    let verdict = verifier.verdict().ok_or_else(|| ProbeError::Handshake {
        address: address.to_string(),
        detail: "handshake completed without a certificate chain to verify".to_string(),
    })?;

    Ok(ServedChain {
        chain,
        verdict,
        protocol: connection.protocol_version().map(protocol_name),
        address,
    })
}

/// Returns the usual name of a protocol version, e.g. "TLSv1.3".
fn protocol_name(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
        ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
        other => format!("{other:?}"),
    }
}

/// Sends close_notify and shuts the connection down. Failures only get logged because the
/// chain has already been recorded.
async fn close(mut stream: TlsStream<RecordingStream<tokio::net::TcpStream>>) {
    match tokio::time::timeout(CLOSE_TIMEOUT, stream.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "failed to close the probe connection cleanly"),
        Err(_elapsed) => tracing::debug!("timed out closing the probe connection"),
    }
}

/// Names the address a failure concerns: the last address tried, or `host:port` before any.
fn describe_address(target: &ProbeTarget, last_address: Option<SocketAddr>) -> String {
    if let Some(address) = last_address {
        return address.to_string();
    }

    let host = strip_brackets(&target.host);
    match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, target.port).to_string(),
        Err(_) => format!("{host}:{}", target.port),
    }
}
