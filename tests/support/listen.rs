//! Starting a listening `b24auth` (`install-listen`, `serve`) and waiting for its address: the
//! one launcher the cases share.

use std::process::Command;

use super::cli::{Env, Spawned};
use super::stand_in::StandIn;

impl Env {
    /// `install-listen --listen 127.0.0.1:0 --path PATH ARGS` with the stand-in as the OAuth
    /// server, and the app's credentials when `credentials` (else none: b24auth asks for them).
    pub fn install_listen(
        &self,
        s: &StandIn,
        credentials: bool,
        path: &str,
        args: &[&str],
    ) -> Command {
        let args = [
            &["install-listen", "--listen", "127.0.0.1:0", "--path", path],
            args,
        ]
        .concat();
        let mut cmd = match credentials {
            true => self.app_cmd(s, &args),
            false => self.cmd(&args),
        };
        cmd.env("B24AUTH_OAUTH_SERVER", &s.base);
        cmd
    }

    /// `authorize --domain PORTAL --redirect-uri URL ARGS` with the app's credentials, the
    /// stand-in's app registered with a handler path on a free loopback port: the command and
    /// that port's `host:port`.
    pub fn authorize(&self, s: &StandIn, args: &[&str]) -> (Command, String) {
        let addr = format!("127.0.0.1:{}", super::http::free_port());
        let redirect = format!("http://{addr}/callback");
        s.set_redirect_uri(&redirect);
        let base = [
            "authorize",
            "--domain",
            &s.base,
            "--redirect-uri",
            &redirect,
        ];
        (self.app_cmd(s, &[&base[..], args].concat()), addr)
    }

    /// Starts `cmd` (an `install-listen`) and waits until it listens: the process and its
    /// `host:port`.
    pub fn listen(&self, cmd: &mut Command) -> (Spawned, String) {
        let mut p = self.spawn(cmd);
        let addr = p.wait_listening();
        (p, addr)
    }
}

impl Spawned {
    /// Waits for the stderr line that starts with `announce` followed by `http://ADDR/…`;
    /// returns `ADDR`.
    pub fn wait_address(&mut self, announce: &str) -> String {
        let line = self.wait_line(10, |l| l.starts_with(announce));
        let url = line[announce.len()..].trim_start_matches("http://");
        url.split('/').next().unwrap().to_string()
    }
}
