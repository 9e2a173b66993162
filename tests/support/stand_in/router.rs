//! The stand-in's listener and its router: which part answers which path.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::Value;

use super::answer::{reply, Answer};
use super::record;
use super::{frame, methods, oauth, sdk, v3, State};

/// Serves `state` on a new loopback port, over TLS when `tls` is given; returns its base URL.
pub(super) fn serve(state: Arc<Mutex<State>>, tls: Option<Arc<rustls::ServerConfig>>) -> String {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let base = match tls {
        Some(_) => format!("https://{addr}"),
        None => format!("http://{addr}"),
    };
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let host = addr.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&state);
                let host = host.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle(Arc::clone(&state), host.clone(), req)
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match &acceptor {
                        // A client that refuses the certificate just ends the connection.
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let _ = http.serve_connection(io, service).await;
                            }
                        }
                        None => {
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = http.serve_connection(io, service).await;
                        }
                    }
                });
            }
        });
    });
    base
}

async fn handle(
    state: Arc<Mutex<State>>,
    host: String,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    // `/renamed/…` is the same portal under another path (a rename that keeps the address).
    let path = req.uri().path();
    let path = path.strip_prefix("/renamed").unwrap_or(path);
    let path = record::renamed_path(path).unwrap_or_else(|| path.to_string());
    let query = req.uri().query().unwrap_or("").to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (key, content_type) = (header("idempotency-key"), header("content-type"));
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(method) = path.strip_prefix("/portal/rest/api/") {
        return Ok(v3::request(&state, method, key, content_type, &body).await);
    }
    if let Some(method) = sdk::portal_method(&path).filter(|m| m != "app.info") {
        return Ok(methods::request(&state, &host, &method, &query, &body).await);
    }
    let params = form_params(&query, &body);
    let response = match path.as_str() {
        "/oauth/token/" => oauth::token(Arc::clone(&state), host.clone(), params).await,
        "/oauth/authorize/" => oauth::authorize_page(&state, &host, &params),
        "/rest/app.info" => {
            let token = params.get("auth").map(String::as_str).unwrap_or("");
            oauth::hold_unknown(&state, token).await;
            oauth::app_info(&state, &host, &params, true)
        }
        "/portal/rest/app.info" => oauth::app_info(&state, &host, &params, false),
        "/install-frame" => {
            let target = params.get("target").map(String::as_str).unwrap_or("");
            frame::install_page(&state, &host, target)
        }
        "/bx24.js" => frame::library_script(&state, &host),
        "/bx24/finished" => frame::finished(&state),
        _ => {
            state.lock().unwrap().counters.other += 1;
            reply(StatusCode::NOT_FOUND, "text/html", "<h1>404</h1>".into())
        }
    };
    Ok(response)
}

/// The query's and a form body's fields, and a JSON body's `auth` (b24auth's REST caller asks
/// the portal's app.info so).
fn form_params(query: &str, body: &[u8]) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    if let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::String(auth)) = json.get("auth") {
            params.insert("auth".into(), auth.clone());
        }
    }
    params
}
