//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
//! login session ends, each relying party it signed into that registered
//! a `backchannel_logout_uri` is sent a signed logout token (`POST`,
//! `logout_token=...`), server to server, so that it ends its own session
//! at once. The requests leave after the logout page is answered (the
//! browser does not wait for relying parties) and each is bounded by
//! [`TIMEOUT`]; https is checked against the system's CA certificates
//! (`rustls-native-certs`, which also reads `SSL_CERT_FILE`). The token is
//! never logged, only the outcome (by the logout endpoint).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;
use url::Url;

/// The longest one back-channel request may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a logout token did not reach a relying party (logged; it never
/// holds the token).
#[derive(Debug, thiserror::Error)]
pub enum BackchannelError {
    #[error("not a URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("the URL has no host or port")]
    NoAddress,
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("not a TLS server name: {0}")]
    ServerName(#[from] rustls_pki_types::InvalidDnsNameError),
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("TLS settings: {0}")]
    Settings(#[from] rustls::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("status {0}")]
    Status(u16),
    #[error("no answer in time")]
    Timeout,
}

/// The TLS settings of the requests: the system's roots.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, BackchannelError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    Ok(Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}

/// One `POST`: the status, or why it failed (for the log).
async fn post(
    uri: &str,
    body: String,
    tls: Arc<rustls::ClientConfig>,
) -> Result<u16, BackchannelError> {
    let url = Url::parse(uri)?;
    let host = url
        .host_str()
        .ok_or(BackchannelError::NoAddress)?
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or(BackchannelError::NoAddress)?;
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let request = Request::post(path)
        .header(HOST, authority)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))?;
    let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .map_err(BackchannelError::Connect)?;
    let status = if url.scheme() == "https" {
        let name = rustls_pki_types::ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )?;
        let stream = TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(BackchannelError::Tls)?;
        send(TokioIo::new(stream), request).await?
    } else {
        send(TokioIo::new(tcp), request).await?
    };
    Ok(status)
}

async fn send<T>(io: T, request: Request<Full<Bytes>>) -> Result<u16, BackchannelError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    let resp = sender.send_request(request).await?;
    Ok(resp.status().as_u16())
}

/// Where and what to send.
pub struct Notice {
    pub client_id: String,
    pub user: String,
    pub uri: String,
    pub logout_token: String,
}

/// Sends the notice: the relying party's 2xx status, or why not (for
/// the log).
pub async fn deliver(
    notice: &Notice,
    tls: Arc<rustls::ClientConfig>,
) -> Result<u16, BackchannelError> {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &notice.logout_token)
        .finish();
    match tokio::time::timeout(TIMEOUT, post(&notice.uri, body, tls)).await {
        Ok(Ok(status)) if (200..300).contains(&status) => Ok(status),
        Ok(Ok(status)) => Err(BackchannelError::Status(status)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BackchannelError::Timeout),
    }
}
