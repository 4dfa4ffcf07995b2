//! Name resolution and TCP connection attempts for the probe.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::ProbeError;

/// Resolves `host` to socket addresses, in the order the system resolver returns them. An IP
/// literal is used as is, without a lookup.
pub(super) async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ProbeError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }

    if host.is_empty() {
        return Err(resolve_error(
            host,
            io::Error::new(io::ErrorKind::InvalidInput, "empty host name"),
        ));
    }

    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|source| resolve_error(host, source))?
        .collect();

    if addresses.is_empty() {
        return Err(resolve_error(
            host,
            io::Error::new(io::ErrorKind::NotFound, "no addresses found"),
        ));
    }

    Ok(addresses)
}

fn resolve_error(host: &str, source: io::Error) -> ProbeError {
    ProbeError::Resolve {
        host: host.to_string(),
        source,
    }
}

/// Connects to the first address in `addresses` that accepts, trying them in order.
///
/// Each attempt gets an equal share of the time left before `deadline`, so one address that
/// drops packets cannot use up the time of the ones after it. Stores each address before trying
/// it in `last_address`. When every attempt fails, returns the error of the last attempt, with
/// `timeout` as the reported bound of a timed-out attempt.
pub(super) async fn connect_first(
    addresses: &[SocketAddr],
    deadline: Instant,
    timeout: Duration,
    last_address: &mut Option<SocketAddr>,
) -> Result<(TcpStream, SocketAddr), ProbeError> {
    let mut last_error = None;

    for (index, &address) in addresses.iter().enumerate() {
        *last_address = Some(address);

        let attempts_left = u32::try_from(addresses.len() - index).unwrap_or(u32::MAX);
        let share = deadline.saturating_duration_since(Instant::now()) / attempts_left;

        let error = match tokio::time::timeout(share, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok((stream, address)),
            Ok(Err(source)) => ProbeError::Unreachable {
                address: address.to_string(),
                source,
            },
            Err(_elapsed) => ProbeError::Timeout {
                address: address.to_string(),
                after: timeout,
            },
        };
        tracing::debug!(%address, %error, "connection attempt failed");
        last_error = Some(error);
    }

    Err(last_error.unwrap_or_else(|| ProbeError::Unreachable {
        address: "no address".to_string(),
        source: io::Error::new(io::ErrorKind::NotFound, "no addresses to connect to"),
    }))
}
