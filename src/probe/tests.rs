//! Probe tests against real TLS servers on 127.0.0.1, with certificates made by rcgen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::*;

/// Client timeout used by the tests.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Bound on everything a test server does, so a broken test fails instead of hanging.
const SERVER_BOUND: Duration = Duration::from_secs(5);

/// A CA certificate with the key that signs its children.
struct Authority {
    params: CertificateParams,
    key: KeyPair,
    cert: CertificateDer<'static>,
}

impl Authority {
    fn root(common_name: &str) -> Self {
        let params = ca_params(common_name);
        let key = KeyPair::generate().expect("P-256 key generation");
        let cert = params.self_signed(&key).expect("self-signing the root");
        Self {
            params,
            key,
            cert: cert.der().clone(),
        }
    }

    fn intermediate(&self, common_name: &str) -> Self {
        let params = ca_params(common_name);
        let key = KeyPair::generate().expect("P-256 key generation");
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("signing the intermediate");
        Self {
            params,
            key,
            cert: cert.der().clone(),
        }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_valid(names, date_time_ymd(2000, 1, 1), date_time_ymd(4000, 1, 1))
    }

    /// A leaf that names where to download its issuer, as leaves from public CAs do.
    fn published_leaf(&self, names: &[&str]) -> Leaf {
        let mut params = leaf_params(names, date_time_ymd(2000, 1, 1), date_time_ymd(4000, 1, 1));
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params
            .custom_extensions
            .push(crate::pki::ca_issuers_extension("http://issuer.test/ca.der"));
        let key = KeyPair::generate().expect("P-256 key generation");
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("signing the leaf");
        Leaf::new(cert.der().clone(), &key)
    }

    fn leaf_valid(
        &self,
        names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Leaf {
        let mut params = leaf_params(names, not_before, not_after);
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().expect("P-256 key generation");
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("signing the leaf");
        Leaf::new(cert.der().clone(), &key)
    }
}

/// A leaf certificate with its private key.
struct Leaf {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl Leaf {
    fn new(cert: CertificateDer<'static>, key: &KeyPair) -> Self {
        Self {
            cert,
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    fn self_signed(names: &[&str]) -> Self {
        let params = leaf_params(names, date_time_ymd(2000, 1, 1), date_time_ymd(4000, 1, 1));
        let key = KeyPair::generate().expect("P-256 key generation");
        let cert = params.self_signed(&key).expect("self-signing the leaf");
        Self::new(cert.der().clone(), &key)
    }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(
    names: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("valid test names");
    params.distinguished_name = DistinguishedName::new();
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

/// What the test server saw from the probe.
#[derive(Debug)]
struct ServerSide {
    /// SNI the client sent.
    server_name: Option<String>,
    /// Application bytes read before close_notify, or the read error.
    application_bytes: Result<usize, String>,
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> ServerConfig {
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("test key matches its certificate")
}

/// Serves `chain` to one TLS client on 127.0.0.1 and reads until the client closes.
async fn serve_tls(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, JoinHandle<ServerSide>) {
    serve_with_config(server_config(chain, key)).await
}

async fn serve_with_config(config: ServerConfig) -> (SocketAddr, JoinHandle<ServerSide>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind on loopback");
    let address = listener.local_addr().expect("bound address");
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let server = tokio::spawn(async move {
        let session = async {
            let (tcp, _) = listener.accept().await.expect("accept the probe");
            let mut tls = acceptor.accept(tcp).await.expect("server-side handshake");
            let server_name = tls.get_ref().1.server_name().map(str::to_string);
            let application_bytes = read_until_close(&mut tls).await;
            ServerSide {
                server_name,
                application_bytes,
            }
        };
        tokio::time::timeout(SERVER_BOUND, session)
            .await
            .expect("test server finished in time")
    });

    (address, server)
}

/// Returns the number of application bytes read before a clean close.
async fn read_until_close<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<usize, String> {
    let mut total = 0;
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) => return Ok(total),
            Ok(read) => total += read,
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// Binds a loopback listener and runs `handle` on the first connection it accepts.
async fn serve_raw<F, Fut>(handle: F) -> (SocketAddr, JoinHandle<()>)
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind on loopback");
    let address = listener.local_addr().expect("bound address");
    let server = tokio::spawn(async move {
        if let Ok(Ok((tcp, _))) = tokio::time::timeout(SERVER_BOUND, listener.accept()).await {
            handle(tcp).await;
        }
    });
    (address, server)
}

fn target(
    address: SocketAddr,
    server_name: Option<&str>,
    extra_roots: Vec<CertificateDer<'static>>,
) -> ProbeTarget {
    ProbeTarget {
        host: address.ip().to_string(),
        port: address.port(),
        server_name: server_name.map(str::to_string),
        timeout: PROBE_TIMEOUT,
        extra_roots,
        known_intermediates: Vec::new(),
    }
}

/// Serves `chain` with `key`, probes it as `localhost`, and returns the probe result.
async fn probe_served(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    extra_roots: Vec<CertificateDer<'static>>,
) -> ServedChain {
    let (address, _server) = serve_tls(chain, key).await;
    probe(&target(address, Some("localhost"), extra_roots))
        .await
        .expect("probe completes the handshake")
}

#[tokio::test]
async fn trusted_chain_reports_trusted() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["localhost"]);
    let (address, server) = serve_tls(vec![leaf.cert.clone()], leaf.key).await;

    let served = probe(&target(address, Some("localhost"), vec![root.cert.clone()]))
        .await
        .expect("probe completes the handshake");

    assert_eq!(served.verdict, Verdict::Trusted);
    assert_eq!(served.chain, vec![leaf.cert]);
    assert_eq!(served.protocol.as_deref(), Some("TLSv1.3"));
    assert_eq!(served.address, address);

    let server_side = server.await.expect("server task");
    assert_eq!(server_side.server_name.as_deref(), Some("localhost"));
    assert_eq!(server_side.application_bytes, Ok(0));
}

#[tokio::test]
async fn intermediate_chain_reports_trusted() {
    let root = Authority::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let leaf = intermediate.leaf(&["localhost"]);
    let chain = vec![leaf.cert.clone(), intermediate.cert.clone()];
    let (address, server) = serve_tls(chain.clone(), leaf.key).await;

    let served = probe(&target(address, Some("localhost"), vec![root.cert.clone()]))
        .await
        .expect("probe completes the handshake");

    assert_eq!(served.verdict, Verdict::Trusted);
    assert_eq!(served.chain, chain);

    let server_side = server.await.expect("server task");
    assert_eq!(server_side.application_bytes, Ok(0));
}

#[tokio::test]
async fn tls12_server_reports_protocol() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["localhost"]);
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("ring supports TLS 1.2")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.cert.clone()], leaf.key)
            .expect("test key matches its certificate");
    let (address, server) = serve_with_config(config).await;

    let served = probe(&target(address, Some("localhost"), vec![root.cert.clone()]))
        .await
        .expect("probe completes the handshake");

    assert_eq!(served.verdict, Verdict::Trusted);
    assert_eq!(served.protocol.as_deref(), Some("TLSv1.2"));

    let server_side = server.await.expect("server task");
    assert_eq!(server_side.application_bytes, Ok(0));
}

#[tokio::test]
async fn expired_leaf_reports_expired() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf_valid(
        &["localhost"],
        date_time_ymd(2020, 1, 1),
        date_time_ymd(2021, 1, 1),
    );

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, vec![root.cert.clone()]).await;

    assert_eq!(served.verdict, Verdict::Expired);
    assert_eq!(served.chain, vec![leaf.cert]);
}

#[tokio::test]
async fn expired_untrusted_leaf_reports_expired() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf_valid(
        &["localhost"],
        date_time_ymd(2020, 1, 1),
        date_time_ymd(2021, 1, 1),
    );

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, Vec::new()).await;

    assert_eq!(served.verdict, Verdict::Expired);
}

#[tokio::test]
async fn future_leaf_reports_not_yet_valid() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf_valid(
        &["localhost"],
        date_time_ymd(3000, 1, 1),
        date_time_ymd(3001, 1, 1),
    );

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, vec![root.cert.clone()]).await;

    assert_eq!(served.verdict, Verdict::NotYetValid);
}

#[tokio::test]
async fn wrong_name_reports_name_mismatch() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["other.example", "www.other.example"]);

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, vec![root.cert.clone()]).await;

    let presented = vec!["other.example".to_string(), "www.other.example".to_string()];
    assert_eq!(served.verdict, Verdict::NameMismatch { presented });
}

#[tokio::test]
async fn ip_target_checks_ip_without_sni() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["127.0.0.1"]);
    let (address, server) = serve_tls(vec![leaf.cert.clone()], leaf.key).await;

    let served = probe(&target(address, None, vec![root.cert.clone()]))
        .await
        .expect("probe completes the handshake");

    assert_eq!(served.verdict, Verdict::Trusted);

    let server_side = server.await.expect("server task");
    assert_eq!(server_side.server_name, None);
}

#[tokio::test]
async fn ip_target_against_dns_leaf_reports_name_mismatch() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["localhost"]);
    let (address, _server) = serve_tls(vec![leaf.cert.clone()], leaf.key).await;

    let served = probe(&target(address, None, vec![root.cert.clone()]))
        .await
        .expect("probe completes the handshake");

    let presented = vec!["localhost".to_string()];
    assert_eq!(served.verdict, Verdict::NameMismatch { presented });
}

#[tokio::test]
async fn unknown_root_reports_untrusted() {
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["localhost"]);

    let served = probe_served(
        vec![leaf.cert.clone(), root.cert.clone()],
        leaf.key,
        Vec::new(),
    )
    .await;

    assert_eq!(served.verdict, Verdict::Untrusted);
}

#[tokio::test]
async fn unknown_root_above_intermediate_reports_untrusted() {
    let root = Authority::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let leaf = intermediate.leaf(&["localhost"]);

    let served = probe_served(
        vec![leaf.cert.clone(), intermediate.cert.clone()],
        leaf.key,
        Vec::new(),
    )
    .await;

    assert_eq!(served.verdict, Verdict::Untrusted);
}

#[tokio::test]
async fn self_signed_leaf_reports_untrusted() {
    let leaf = Leaf::self_signed(&["localhost"]);

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, Vec::new()).await;

    assert_eq!(served.verdict, Verdict::Untrusted);
}

#[tokio::test]
async fn missing_intermediate_reports_chain_incomplete() {
    let root = Authority::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let leaf = intermediate.published_leaf(&["localhost"]);

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, vec![root.cert.clone()]).await;

    assert_eq!(served.verdict, Verdict::ChainIncomplete);
    assert_eq!(served.chain, vec![leaf.cert]);
}

#[tokio::test]
async fn private_root_leaf_without_issuer_url_is_untrusted() {
    let private_root = Authority::root("Panel Root");
    let leaf = private_root.leaf(&["localhost"]);

    let served = probe_served(vec![leaf.cert.clone()], leaf.key, Vec::new()).await;

    assert_eq!(served.verdict, Verdict::Untrusted);
}

/// Serves `chain` with `key` and probes it as `localhost`, with `known_intermediates` taken
/// from the user's files.
async fn probe_served_knowing(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    extra_roots: Vec<CertificateDer<'static>>,
    known_intermediates: Vec<CertificateDer<'static>>,
) -> ServedChain {
    let (address, _server) = serve_tls(chain, key).await;
    let mut target = target(address, Some("localhost"), extra_roots);
    target.known_intermediates = known_intermediates;
    probe(&target).await.expect("probe completes the handshake")
}

#[tokio::test]
async fn known_intermediate_makes_leaf_alone_incomplete() {
    let root = Authority::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let leaf = intermediate.leaf(&["localhost"]);

    let served = probe_served_knowing(
        vec![leaf.cert.clone()],
        leaf.key,
        vec![root.cert.clone()],
        vec![intermediate.cert.clone()],
    )
    .await;

    assert_eq!(served.verdict, Verdict::ChainIncomplete);
    assert_eq!(served.chain, vec![leaf.cert]);
}

#[tokio::test]
async fn leaf_alone_without_known_issuer_is_untrusted() {
    let root = Authority::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let unrelated = root.intermediate("Other Intermediate");
    let leaf = intermediate.leaf(&["localhost"]);

    let served = probe_served_knowing(
        vec![leaf.cert.clone()],
        leaf.key,
        vec![root.cert.clone()],
        vec![unrelated.cert.clone()],
    )
    .await;

    assert_eq!(served.verdict, Verdict::Untrusted);
}

#[tokio::test]
async fn known_root_keeps_private_leaf_untrusted() {
    let private_root = Authority::root("Panel Root");
    let leaf = private_root.leaf(&["localhost"]);

    // The certificate file may end with the root itself, which the server rightly leaves out.
    let served = probe_served_knowing(
        vec![leaf.cert.clone()],
        leaf.key,
        Vec::new(),
        vec![private_root.cert.clone()],
    )
    .await;

    assert_eq!(served.verdict, Verdict::Untrusted);
}

#[tokio::test]
async fn known_upper_intermediate_makes_chain_incomplete() {
    let root = Authority::root("Test Root");
    let upper = root.intermediate("Upper Intermediate");
    let lower = upper.intermediate("Lower Intermediate");
    let leaf = lower.leaf(&["localhost"]);

    let served = probe_served_knowing(
        vec![leaf.cert.clone(), lower.cert.clone()],
        leaf.key,
        vec![root.cert.clone()],
        vec![upper.cert.clone(), lower.cert.clone()],
    )
    .await;

    assert_eq!(served.verdict, Verdict::ChainIncomplete);
    assert_eq!(served.chain.len(), 2);
}

#[tokio::test]
async fn known_intermediate_sent_is_trusted() {
    let root = Authority::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let leaf = intermediate.leaf(&["localhost"]);

    let served = probe_served_knowing(
        vec![leaf.cert.clone(), intermediate.cert.clone()],
        leaf.key,
        vec![root.cert.clone()],
        vec![intermediate.cert.clone()],
    )
    .await;

    assert_eq!(served.verdict, Verdict::Trusted);
}

#[tokio::test]
async fn stale_intermediate_reports_chain_incomplete() {
    let root = Authority::root("Test Root");
    let stale = root.intermediate("Test Intermediate");
    let current = root.intermediate("Test Intermediate");
    let leaf = current.leaf(&["localhost"]);

    let served = probe_served(
        vec![leaf.cert.clone(), stale.cert.clone()],
        leaf.key,
        vec![root.cert.clone()],
    )
    .await;

    assert_eq!(served.verdict, Verdict::ChainIncomplete);
}

#[tokio::test]
async fn closed_port_reports_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let address = listener.local_addr().expect("bound address");
    drop(listener);

    let error = probe(&target(address, Some("localhost"), Vec::new()))
        .await
        .expect_err("nothing listens on the port");

    let ProbeError::Unreachable {
        address: reported, ..
    } = &error
    else {
        panic!("expected Unreachable, got {error:?}");
    };
    assert_eq!(reported, &address.to_string());
}

#[tokio::test]
async fn plain_http_reports_not_tls() {
    let (address, _server) = serve_raw(|mut tcp| async move {
        let mut buffer = [0u8; 1024];
        let _ = tcp.read(&mut buffer).await;
        let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        let _ = tcp.shutdown().await;
    })
    .await;

    let error = probe(&target(address, Some("localhost"), Vec::new()))
        .await
        .expect_err("an HTTP server does not complete a TLS handshake");

    let ProbeError::NotTls { detail, .. } = &error else {
        panic!("expected NotTls, got {error:?}");
    };
    assert!(
        detail.contains("HTTP/1.1 400 Bad Request"),
        "detail: {detail}"
    );
}

#[tokio::test]
async fn immediate_close_reports_not_tls() {
    let (address, _server) = serve_raw(|tcp| async move { drop(tcp) }).await;

    let error = probe(&target(address, Some("localhost"), Vec::new()))
        .await
        .expect_err("a closed connection does not complete a TLS handshake");

    assert!(matches!(error, ProbeError::NotTls { .. }), "got {error:?}");
}

#[tokio::test]
async fn tls_alert_reports_handshake() {
    let (address, _server) = serve_raw(|mut tcp| async move {
        let mut buffer = [0u8; 1024];
        let _ = tcp.read(&mut buffer).await;
        // A TLS 1.2 record carrying a fatal handshake_failure alert.
        let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 40]).await;
        let _ = tcp.shutdown().await;
    })
    .await;

    let error = probe(&target(address, Some("localhost"), Vec::new()))
        .await
        .expect_err("the server aborts the handshake");

    let ProbeError::Handshake { detail, .. } = &error else {
        panic!("expected Handshake, got {error:?}");
    };
    assert!(detail.contains("HandshakeFailure"), "detail: {detail}");
}

#[tokio::test]
async fn silent_server_reports_timeout() {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (address, _server) = serve_raw(|tcp| async move {
        let _ = tokio::time::timeout(SERVER_BOUND, released).await;
        drop(tcp);
    })
    .await;
    let mut silent_target = target(address, Some("localhost"), Vec::new());
    silent_target.timeout = Duration::from_millis(300);

    let started = std::time::Instant::now();
    let error = probe(&silent_target)
        .await
        .expect_err("the server never answers");
    let elapsed = started.elapsed();
    let _ = release.send(());

    let ProbeError::Timeout {
        address: reported,
        after,
    } = &error
    else {
        panic!("expected Timeout, got {error:?}");
    };
    assert_eq!(reported, &address.to_string());
    assert_eq!(*after, Duration::from_millis(300));
    assert!(elapsed >= Duration::from_millis(300), "elapsed {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1300), "elapsed {elapsed:?}");
}

#[tokio::test]
async fn connect_tries_next_address() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let closed_address = closed.local_addr().expect("bound address");
    drop(closed);
    let open = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind on loopback");
    let open_address = open.local_addr().expect("bound address");

    let deadline = Instant::now() + PROBE_TIMEOUT;
    let mut last_address = None;
    let (_stream, connected) = connect::connect_first(
        &[closed_address, open_address],
        deadline,
        PROBE_TIMEOUT,
        &mut last_address,
    )
    .await
    .expect("the second address accepts");

    assert_eq!(connected, open_address);
    assert_eq!(last_address, Some(open_address));
}

#[tokio::test]
async fn bracketed_ipv6_host_resolves() {
    let addresses = connect::resolve(strip_brackets("[::1]"), 443)
        .await
        .expect("IP literal");

    assert_eq!(
        addresses,
        vec!["[::1]:443".parse::<SocketAddr>().expect("valid address")]
    );
}

#[tokio::test]
async fn empty_host_reports_resolve() {
    let mut empty = ProbeTarget::new("", 443);
    empty.server_name = Some("localhost".to_string());

    let error = probe(&empty)
        .await
        .expect_err("an empty host cannot resolve");

    assert!(matches!(error, ProbeError::Resolve { .. }), "got {error:?}");
}

#[tokio::test]
async fn invalid_server_name_rejected() {
    let mut bad_name = ProbeTarget::new("127.0.0.1", 443);
    bad_name.server_name = Some("not a host name".to_string());

    let error = probe(&bad_name).await.expect_err("the name is invalid");

    let ProbeError::InvalidServerName { name } = &error else {
        panic!("expected InvalidServerName, got {error:?}");
    };
    assert_eq!(name, "not a host name");
}

#[tokio::test]
async fn invalid_extra_root_rejected() {
    let mut bad_root = ProbeTarget::new("127.0.0.1", 443);
    bad_root.extra_roots = vec![CertificateDer::from(vec![1, 2, 3])];

    let error = probe(&bad_root)
        .await
        .expect_err("the root is not a certificate");

    assert!(
        matches!(error, ProbeError::InvalidExtraRoot { index: 0, .. }),
        "got {error:?}"
    );
}

#[test]
fn blocking_probe_reports_trusted() {
    let server_runtime = tokio::runtime::Runtime::new().expect("server runtime");
    let root = Authority::root("Test Root");
    let leaf = root.leaf(&["localhost"]);
    let (address, server) = server_runtime.block_on(serve_tls(vec![leaf.cert.clone()], leaf.key));

    let served = probe_blocking(&target(address, Some("localhost"), vec![root.cert.clone()]))
        .expect("probe completes the handshake");

    assert_eq!(served.verdict, Verdict::Trusted);
    assert_eq!(served.chain, vec![leaf.cert]);
    let server_side = server_runtime.block_on(server).expect("server task");
    assert_eq!(server_side.application_bytes, Ok(0));
}

#[tokio::test]
async fn blocking_probe_inside_runtime_rejected() {
    let error = probe_blocking(&ProbeTarget::new("127.0.0.1", 443)).expect_err("inside a runtime");

    assert!(matches!(error, ProbeError::Runtime { .. }), "got {error:?}");
}

#[test]
fn verifier_without_roots_reports_untrusted() {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = InspectingVerifier::new(RootCertStore::empty(), &provider, Vec::new());
    let leaf = Leaf::self_signed(&["localhost"]);
    let name = ServerName::try_from("localhost").expect("valid name");

    let accepted = rustls::client::danger::ServerCertVerifier::verify_server_cert(
        &verifier,
        &leaf.cert,
        &[],
        &name,
        &[],
        rustls_pki_types::UnixTime::now(),
    );

    assert!(accepted.is_ok());
    assert_eq!(verifier.verdict(), Some(Verdict::Untrusted));
}
