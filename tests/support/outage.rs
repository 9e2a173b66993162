//! An OAuth server that is down, then slow, then back: a loopback address held for the whole test
//! that first refuses connections (a socket bound but not listening: ECONNREFUSED), then accepts
//! them and never answers (a timeout), then forwards every connection to the stand-in.

use std::io;
use std::net::{SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct Outage {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    socket: Option<OwnedFd>,
    listener: Option<TcpListener>,
}

impl Outage {
    /// A port that refuses every connection until [`Outage::hang`] or [`Outage::forward_to`].
    pub fn refusing() -> Outage {
        // SAFETY: plain socket calls on a descriptor this function owns.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = unsafe { libc::bind(fd, (&raw const addr).cast(), len) };
        assert_eq!(rc, 0, "bind: {}", io::Error::last_os_error());
        let mut got = len;
        let rc = unsafe { libc::getsockname(fd, (&raw mut addr).cast(), &mut got) };
        assert_eq!(rc, 0, "getsockname: {}", io::Error::last_os_error());
        let port = u16::from_be(addr.sin_port);
        let base = format!(
            "http://{}",
            SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port)
        );
        Outage {
            base,
            socket: Some(socket),
            listener: None,
        }
    }

    /// From now on connections are accepted by the kernel and never answered.
    pub fn hang(&mut self) {
        let socket = self.socket.take().expect("still refusing");
        // SAFETY: listen on the bound socket this value owns.
        let rc = unsafe { libc::listen(socket.as_raw_fd(), 64) };
        assert_eq!(rc, 0, "listen: {}", io::Error::last_os_error());
        self.listener = Some(TcpListener::from(socket));
    }

    /// From now on every connection (those already waiting too) is relayed to `target`
    /// (`http://host:port`).
    pub fn forward_to(&mut self, target: &str) {
        if self.socket.is_some() {
            self.hang();
        }
        let listener = self.listener.take().expect("listening");
        // What queued while the server hung was given up by its clients: a server back from
        // an outage starts with a clean queue.
        listener.set_nonblocking(true).unwrap();
        while listener.accept().is_ok() {}
        listener.set_nonblocking(false).unwrap();
        let target = target.trim_start_matches("http://").to_string();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                relay(client, server);
            }
        });
    }
}

/// Copies both ways until either side closes.
fn relay(client: TcpStream, server: TcpStream) {
    let pairs = [
        (client.try_clone().unwrap(), server.try_clone().unwrap()),
        (server, client),
    ];
    for (mut from, mut to) in pairs {
        std::thread::spawn(move || {
            let _ = io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    }
}
