/*!
The manual pages: `b24auth.1` (options and subcommands from the clap definition, plus EXIT
STATUS, ENVIRONMENT, FILES and EXAMPLES written here) and one page per subcommand
(`b24auth-authorize.1`, `b24auth-store-copy.1`, …). Generated, never hand-edited: the copies in
`man/` are checked against [`pages`] by a test.
*/

use clap::CommandFactory;

use crate::cli::Cli;

/// Every page as (file name, roff text): the main page first, then the subcommands'.
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = vec![("b24auth.1".to_string(), main_page(cmd.clone())?)];
    let mut stack: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
    while let Some(sub) = stack.pop() {
        stack.extend(sub.get_subcommands().cloned());
        let man = clap_mangen::Man::new(sub);
        let mut text = Vec::new();
        man.render(&mut text)?;
        out.push((man.get_filename(), text));
    }
    out[1..].sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `b24auth.1`: clap's sections, then the ones a script writer looks for.
pub fn main_page(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd);
    let mut w = Vec::new();
    man.render_title(&mut w)?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    man.render_description_section(&mut w)?;
    man.render_options_section(&mut w)?;
    man.render_subcommands_section(&mut w)?;
    w.extend_from_slice(EXTRA.as_bytes());
    man.render_version_section(&mut w)?;
    Ok(w)
}

const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
Failed: network, the server answered an error, I/O, a corrupt or insecure file; a confirmation answered "no".
.TP
\fB2\fR
Usage: bad flags or values, missing client credentials without a terminal, the profile exists and \fB\-\-force\fR was not given, or the OAuth server refused the client credentials (\fBinvalid_client\fR, \fBwrong_client\fR \- also with HTTP 200: fix B24AUTH_CLIENT_ID / B24AUTH_CLIENT_SECRET, or reinstall a removed app; the stored pair is unchanged).
.TP
\fB3\fR
Authorization needed: nothing stored for the profile, the refresh token or code was rejected (\fBinvalid_grant\fR, \fBexpired_token\fR, ..., in any case), the app is not installed on the portal any more (\fBERROR_OAUTH\fR, \fBAPPLICATION_NOT_FOUND\fR, \fBNOT_INSTALLED\fR), candidates not yet proven, a refresh answer naming another portal (\fBb24auth refresh \-\-accept\-change\fR), an uninstall received by \fBserve\fR, or the user refused consent \- reinstall if needed, then run \fBb24auth authorize\fR or \fBb24auth install\-listen\fR again.
.TP
\fB4\fR
Timed out: no callback or redirect in time, or the profile lock was not released in time.
.TP
\fB130\fR
Interrupted (Ctrl\-C) while waiting; nothing was written.
.TP
\fB126\fR, \fB127\fR
\fBexec\fR: the command is not executable / not found.
.SH ENVIRONMENT
.TP
\fBB24AUTH_PROFILE\fR
Which stored authorization (\fB\-\-profile\fR).
.TP
\fBB24AUTH_CONFIG_DIR\fR
Where profiles live (\fB\-\-config\-dir\fR). Empty means unset.
.TP
\fBB24AUTH_STORE\fR
\fBfile\fR or a \fBpostgres://\fR URL (\fB\-\-store\fR).
.TP
\fBB24AUTH_STORE_KEY\fR
Seals the secrets stored in PostgreSQL (32 bytes, base64).
.TP
\fBB24AUTH_CLIENT_ID\fR, \fBB24AUTH_CLIENT_SECRET\fR
The application's credentials; prefer these (or the prompt) to the flags, which other users can see.
.TP
\fBB24AUTH_OAUTH_SERVER\fR
Base URL of the OAuth server (\fB\-\-oauth\-server\fR).
.TP
\fBB24AUTH_HTTP_TIMEOUT\fR
Timeout of each HTTP request (\fB\-\-http\-timeout\fR).
.TP
\fBB24AUTH_LOG\fR
\fBdebug\fR: one line per HTTP exchange on stderr, secrets redacted (as \fB\-v\fR).
.TP
\fBBROWSER\fR
The browser \fBauthorize\fR opens.
.TP
\fBNO_COLOR\fR
No colours in any output.
.TP
\fBSSL_CERT_FILE\fR, \fBSSL_CERT_DIR\fR
Extra trusted CAs for HTTPS (a company CA), on top of the system's trust store, as OpenSSL and curl read them.
.TP
\fBPGHOST\fR, \fBPGPORT\fR, \fBPGUSER\fR, \fBPGPASSWORD\fR, \fBPGPASSFILE\fR, \fBPGDATABASE\fR, \fBPGSSLMODE\fR, \fBPGSSLROOTCERT\fR, \fBPGSSLCERT\fR, \fBPGSSLKEY\fR
For a \fBpostgres://\fR store, with libpq's meanings (\fI~/.pgpass\fR by default, mode 0600); URL parameters win.
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/b24auth/auth.json\fR (else \fI~/.config/b24auth/auth.json\fR)
The default profile: Bitrix24's fields as received plus \fBclient_id\fR, \fBclient_secret\fR and a \fBb24auth\fR object. Mode 0600, directory 0700.
.TP
\fI<config\-dir>/profiles/NAME.json\fR
A named profile (\fB\-\-profile NAME\fR).
.TP
\fI<file>.lock\fR
The lock writers and refreshers hold (at most 30 s).
.SH EXAMPLES
First pair through the browser, then a call:
.PP
.nf
.RS
b24auth authorize \-\-domain portal.bitrix24.com
b24auth call crm.deal.list filter[STAGE_ID]=WON \-\-all
.RE
.fi
.PP
A token for another tool, fresh for at least 5 minutes:
.PP
.nf
.RS
curl \-d "auth=$(b24auth token \-\-min\-ttl 300)" https://portal.bitrix24.com/rest/user.current
.RE
.fi
.PP
Keep the refresh token alive from cron:
.PP
.nf
.RS
0 3 * * * b24auth \-q refresh \-\-if\-older\-than 7d
.RE
.fi
.PP
A tool that reads its token from the environment:
.PP
.nf
.RS
b24auth exec \-\- ./sync.sh
.RE
.fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_page_has_the_sections_people_look_for() {
        let pages = pages().unwrap();
        let main = String::from_utf8(pages[0].1.clone()).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH EXAMPLES",
        ] {
            assert!(main.contains(section), "{section}");
        }
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for name in [
            "b24auth-authorize.1",
            "b24auth-install-listen.1",
            "b24auth-store-copy.1",
            "b24auth-token.1",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
    }
}
