//! A raw HTTP/1.1 client over `std::net::TcpStream`, so tests control every byte a hostile or
//! broken client could send (bad Host, invalid UTF-8, a body it never finishes).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body`; reads the answer.
pub fn raw(addr: &str, head: &str, body: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = head.trim_end().replace('\n', "\r\n").into_bytes();
    req.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    req.extend_from_slice(body);
    let _ = s.write_all(&req);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse(&buf)
}

pub fn parse(buf: &[u8]) -> Response {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// GET an absolute `http://host:port/path?query` URL with its own Host header.
pub fn get(url: &str) -> Response {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    raw(host, &format!("GET {path} HTTP/1.1\nHost: {host}"), b"")
}

/// Follows redirects as a browser would, up to five; returns the last answer.
pub fn follow(url: &str) -> Response {
    let mut url = url.to_string();
    for _ in 0..5 {
        let r = get(&url);
        match r.header("location") {
            Some(next) if (300..400).contains(&r.status) => url = next.to_string(),
            _ => return r,
        }
    }
    panic!("too many redirects");
}

pub fn post(addr: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
    raw(
        addr,
        &format!(
            "POST {path} HTTP/1.1\nHost: {addr}\nContent-Type: {content_type}\nContent-Length: {}",
            body.len()
        ),
        body,
    )
}

/// A loopback port that was free a moment ago (for a redirect URI registered in advance).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server on a loopback port that answers every request with `answer`, then closes the
/// connection (`close`) or holds it open for as long as the test runs (a body never finished).
/// Returns `http://127.0.0.1:PORT`.
pub fn canned_server(answer: Vec<u8>, close: bool) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = vec![0u8; 64 * 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(&answer);
            if !close {
                held.push(stream);
            }
        }
    });
    base
}

/// The query of `url` (after `?`), decoded.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}
