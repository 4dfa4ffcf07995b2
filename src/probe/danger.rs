//! A certificate verifier that lets every handshake finish so the chain can be inspected.
//!
//! Connections made with it are NOT authenticated. The probe only uses them to read the
//! presented chain and never sends application data over them.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::verdict;
use super::Verdict;

/// Verifier that records the verdict of a real `WebPkiServerVerifier` and then accepts the
/// chain whatever the verdict.
///
/// Handshake signatures are still checked for real, so the peer must hold the private key of
/// the leaf it presents.
#[derive(Debug)]
pub(crate) struct InspectingVerifier {
    /// The real verifier, or `None` when the trust store is empty, which rustls rejects.
    /// NOTE: without it the verdict is only `Untrusted` or `ChainIncomplete`, because expiry and
    /// name are never checked.
    inner: Option<Arc<WebPkiServerVerifier>>,
    /// Issuer certificates from the user's files, see [`super::ProbeTarget::known_intermediates`].
    known_intermediates: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
    verdict: Mutex<Option<Verdict>>,
}

impl InspectingVerifier {
    /// Builds a verifier that judges chains against `roots` with the algorithms of `provider`.
    /// `known_intermediates` only tell a missing intermediate from an untrusted CA.
    pub(crate) fn new(
        roots: RootCertStore,
        provider: &Arc<CryptoProvider>,
        known_intermediates: Vec<CertificateDer<'static>>,
    ) -> Self {
        let inner = match WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        {
            Ok(verifier) => Some(verifier),
            Err(error) => {
                tracing::warn!(%error, "failed to build the certificate verifier, so no chain can be trusted");
                None
            }
        };

        Self {
            inner,
            known_intermediates,
            algorithms: provider.signature_verification_algorithms,
            verdict: Mutex::new(None),
        }
    }

    /// Returns the verdict on the last chain verified, if any.
    pub(crate) fn verdict(&self) -> Option<Verdict> {
        self.verdict
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn store(&self, verdict: Verdict) {
        *self.verdict.lock().unwrap_or_else(PoisonError::into_inner) = Some(verdict);
    }
}

impl ServerCertVerifier for InspectingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(inner) => {
                match inner.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(_) => Verdict::Trusted,
                    Err(error) => verdict::from_error(
                        &error,
                        end_entity,
                        intermediates,
                        &self.known_intermediates,
                    ),
                }
            }
            None => verdict::unknown_issuer(end_entity, intermediates, &self.known_intermediates),
        };

        tracing::debug!(?verdict, server_name = ?server_name.to_str(), "verified the presented chain");
        self.store(verdict);

        // Accepting is the point of this verifier: the chain is recorded for inspection and the
        // connection carries no application data.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.inner {
            Some(inner) => inner.verify_tls12_signature(message, cert, dss),
            None => rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.inner {
            Some(inner) => inner.verify_tls13_signature(message, cert, dss),
            None => rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match &self.inner {
            Some(inner) => inner.supported_verify_schemes(),
            None => self.algorithms.supported_schemes(),
        }
    }
}
