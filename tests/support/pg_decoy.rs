//! A decoy PostgreSQL server on a loopback port: it answers an `SSLRequest` with `N` (no TLS, as a
//! server with `ssl = off` does), asks for the password in clear text (what a hostile or
//! misconfigured host would do to collect one) and refuses every login. Everything each client
//! sent is kept as it is read (so once a client has had an answer, what it sent before is there),
//! so a test can check which password, if any, reached it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub struct Decoy {
    pub port: u16,
    /// What each connection sent, in order of arrival.
    received: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// `SSLRequest` / `GSSENCRequest` codes (PostgreSQL protocol, "Message Formats").
const SSL_REQUEST: u32 = 80_877_103;
const GSS_REQUEST: u32 = 80_877_104;

impl Decoy {
    pub fn start() -> Decoy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let slot = {
                    let mut all = kept.lock().unwrap();
                    all.push(Vec::new());
                    all.len() - 1
                };
                let seen = Seen(kept.clone(), slot);
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        Decoy { port, received }
    }

    /// What each connection sent, in order of arrival.
    pub fn connections(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

/// One connection's slot in [`Decoy::received`].
struct Seen(Arc<Mutex<Vec<Vec<u8>>>>, usize);

fn read_exact(s: &mut TcpStream, n: usize, seen: &Seen) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf)?;
    seen.0.lock().unwrap()[seen.1].extend_from_slice(&buf);
    Ok(buf)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn serve(mut s: TcpStream, seen: &Seen) -> std::io::Result<()> {
    // Startup: maybe an encryption request first (answered `N`), then the startup message.
    loop {
        let len = be32(&read_exact(&mut s, 4, seen)?) as usize;
        let body = read_exact(&mut s, len.saturating_sub(4), seen)?;
        match body.get(..4).map(be32) {
            Some(SSL_REQUEST | GSS_REQUEST) => s.write_all(b"N")?,
            _ => break,
        }
    }
    // AuthenticationCleartextPassword.
    s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3])?;
    let head = read_exact(&mut s, 5, seen)?;
    read_exact(&mut s, (be32(&head[1..]) as usize).saturating_sub(4), seen)?;
    let fields = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0";
    let mut error = vec![b'E'];
    error.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
    error.extend_from_slice(fields);
    s.write_all(&error)
}
