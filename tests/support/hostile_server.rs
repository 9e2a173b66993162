//! A hostile server on a loopback port: it answers every request with one fixed JSON answer,
//! whatever that claims (an OAuth server naming other credentials, a portal replaying a
//! recorded answer, an attacker's listener), and counts the requests that reached it.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

/// A server answering every request, read whole first, with `status` and the JSON `body`,
/// closing the connection. Returns `http://127.0.0.1:PORT` and the count of requests seen.
pub fn answering(status: u16, body: &Value) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let body = body.to_string();
    let answer = format!(
        "HTTP/1.1 {status} Recorded\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream);
            read_request(&mut reader);
            let _ = reader.into_inner().write_all(answer.as_bytes());
        }
    });
    (base, seen)
}

/// An OAuth server answering every token request with `answer` (HTTP 200, JSON). Returns
/// `http://127.0.0.1:PORT`.
pub fn oauth_answering(answer: Value) -> String {
    answering(200, &answer).0
}

/// Reads a request's head and its `Content-Length` body (what the client sent is read whole,
/// so closing after the answer never resets the connection under it).
fn read_request(reader: &mut BufReader<std::net::TcpStream>) {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut request_body = vec![0u8; length];
    let _ = reader.read_exact(&mut request_body);
}
