/*!
What the portal's redirect (or a line the user pasted) says, read by pure functions: a code for
our run, a refusal (`error=access_denied`, or any other OAuth error), another run's address, or
nothing usable. `authorize` decides what to do; this module only reads.
*/

use std::collections::HashMap;

use crate::secret::{constant_time_eq, Secret};
use crate::ui::sanitize::clipped;

/// What the redirect (or a pasted address) carried.
#[derive(Debug)]
pub struct Arrival {
    pub code: Secret,
    pub domain: Option<String>,
    pub server_domain: Option<String>,
}

/// The portal's answer when the user (or the portal) did not grant access: `error` and
/// `error_description`, sanitized for a terminal line and a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: String,
    pub description: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// How a request to the redirect path reads.
#[derive(Debug)]
pub enum Redirect {
    /// Not our run: the `state` is missing or another one.
    WrongState,
    /// Our run, but the portal sent neither a code nor an error.
    NoCode,
    /// Our run, and the portal answered with an OAuth error instead of a code.
    Refused(Refusal),
    Arrived(Arrival),
}

/// How a pasted line reads.
#[derive(Debug)]
pub enum Pasted {
    Arrived(Arrival),
    Refused(Refusal),
    /// Not usable; says why, and the flow keeps waiting.
    Unusable(&'static str),
}

/// Reads the redirect's query string; `state` is compared in constant time. An error with our
/// state wins over a code: the portal said no.
pub fn read_redirect(query: &str, state: &str) -> Redirect {
    let query = parse_query(query);
    let ours = query
        .get("state")
        .is_some_and(|s| constant_time_eq(s.as_bytes(), state.as_bytes()));
    if !ours {
        return Redirect::WrongState;
    }
    if let Some(r) = refusal(&query) {
        return Redirect::Refused(r);
    }
    match arrival(&query) {
        None => Redirect::NoCode,
        Some(a) => Redirect::Arrived(a),
    }
}

/// Reads a pasted line: the redirected address (its `state`, when present, must be ours) or the
/// bare code a portal shows for an app with no handler.
pub fn read_pasted(line: &str, state: &str) -> Pasted {
    if !line.contains('=') {
        let bare = !line.is_empty()
            && line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        return if bare {
            Pasted::Arrived(Arrival {
                code: Secret::new(line),
                domain: None,
                server_domain: None,
            })
        } else {
            Pasted::Unusable("that is neither the redirected address nor a code")
        };
    }
    let query = line.split_once('?').map_or(line, |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let parsed = parse_query(query);
    if parsed.contains_key("state") {
        return match read_redirect(query, state) {
            Redirect::WrongState => Pasted::Unusable("that address carries another run's state"),
            Redirect::NoCode => Pasted::Unusable("that address holds no code"),
            Redirect::Refused(r) => Pasted::Refused(r),
            Redirect::Arrived(a) => Pasted::Arrived(a),
        };
    }
    if let Some(r) = refusal(&parsed) {
        return Pasted::Refused(r);
    }
    match arrival(&parsed) {
        Some(a) => Pasted::Arrived(a),
        None => Pasted::Unusable("that address holds no code"),
    }
}

fn parse_query(q: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

fn arrival(query: &HashMap<String, String>) -> Option<Arrival> {
    let code = query.get("code").filter(|c| !c.is_empty())?;
    Some(Arrival {
        code: Secret::new(code.as_str()),
        domain: query.get("domain").cloned(),
        server_domain: query.get("server_domain").cloned(),
    })
}

fn refusal(query: &HashMap<String, String>) -> Option<Refusal> {
    let error = clipped(query.get("error")?, 64);
    if error.is_empty() {
        return None;
    }
    let description = query
        .get("error_description")
        .map(|d| clipped(d, 200))
        .filter(|d| !d.is_empty());
    Some(Refusal { error, description })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn redirects_and_pastes() {
        let q =
            format!("code=abc&state={STATE}&domain=p.bitrix24.com&server_domain=oauth.bitrix.info");
        assert!(
            matches!(read_redirect(&q, STATE), Redirect::Arrived(a) if a.code.expose() == "abc")
        );
        assert!(matches!(
            read_redirect("code=abc&state=other", STATE),
            Redirect::WrongState
        ));
        assert!(matches!(
            read_redirect("code=abc", STATE),
            Redirect::WrongState
        ));
        assert!(matches!(
            read_redirect(&format!("state={STATE}"), STATE),
            Redirect::NoCode
        ));
        let url = format!("https://app.example.com/h?x=1&{q}");
        assert!(
            matches!(read_pasted(&url, STATE), Pasted::Arrived(a) if a.domain.as_deref() == Some("p.bitrix24.com"))
        );
        assert!(
            matches!(read_pasted("avmocpghblyi01m3", STATE), Pasted::Arrived(a) if a.code.expose() == "avmocpghblyi01m3")
        );
        assert!(matches!(
            read_pasted("https://x/?code=a&state=bad", STATE),
            Pasted::Unusable(_)
        ));
        assert!(matches!(
            read_pasted("not a code", STATE),
            Pasted::Unusable(_)
        ));
    }

    #[test]
    fn a_refusal_with_our_state_is_read() {
        let q =
            format!("error=access_denied&error_description=The+user+denied+access&state={STATE}");
        let Redirect::Refused(r) = read_redirect(&q, STATE) else {
            panic!("not read as a refusal")
        };
        assert_eq!(r.error, "access_denied");
        assert_eq!(r.description.as_deref(), Some("The user denied access"));
        assert_eq!(r.to_string(), "access_denied: The user denied access");
        // An error beats a code the same redirect carries.
        let both = format!("code=abc&error=invalid_scope&state={STATE}");
        assert!(
            matches!(read_redirect(&both, STATE), Redirect::Refused(r) if r.error == "invalid_scope" && r.description.is_none())
        );
        // Another run's refusal is not ours to act on.
        assert!(matches!(
            read_redirect("error=access_denied&state=other", STATE),
            Redirect::WrongState
        ));
    }

    #[test]
    fn a_pasted_refusal_is_read() {
        let with_state =
            format!("http://127.0.0.1:8787/callback?error=access_denied&state={STATE}");
        assert!(
            matches!(read_pasted(&with_state, STATE), Pasted::Refused(r) if r.error == "access_denied")
        );
        assert!(matches!(
            read_pasted("https://app.example.com/h?error=server_error", STATE),
            Pasted::Refused(r) if r.error == "server_error"
        ));
        assert!(matches!(
            read_pasted("https://x/?error=access_denied&state=bad", STATE),
            Pasted::Unusable(_)
        ));
    }

    #[test]
    fn foreign_text_is_sanitized() {
        let q = format!(
            "error=access%1B%5B31mdenied&error_description=line1%0D%0Aline2%07{}&state={STATE}",
            "x".repeat(500)
        );
        let Redirect::Refused(r) = read_redirect(&q, STATE) else {
            panic!()
        };
        assert!(!r.error.chars().any(char::is_control), "{:?}", r.error);
        let d = r.description.unwrap();
        assert!(!d.chars().any(char::is_control), "{d:?}");
        assert!(d.starts_with("line1 line2"));
        assert_eq!(d.chars().count(), 201, "cut at 200 and marked");
        assert!(matches!(
            read_redirect(&format!("error=%0A&code=c&state={STATE}"), STATE),
            Redirect::Arrived(_)
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            crate::capture::install::request::callback_tests::fuzz_cases()))]

        #[test]
        fn any_query_or_line_never_panics(input in "\\PC{0,300}", state in "[0-9a-f]{32}") {
            let _ = read_redirect(&input, &state);
            let _ = read_pasted(&input, &state);
        }

        #[test]
        fn only_our_state_lets_a_code_through(code in "[A-Za-z0-9]{1,64}", state in "[0-9a-f]{32}",
                                              other in "[0-9a-f]{0,40}") {
            let ours = format!("code={code}&state={state}");
            let is_ours = matches!(read_redirect(&ours, &state), Redirect::Arrived(a) if a.code.expose() == code);
            proptest::prop_assert!(is_ours);
            if other != state {
                let theirs = format!("code={code}&state={other}");
                proptest::prop_assert!(matches!(read_redirect(&theirs, &state), Redirect::WrongState));
            }
        }

        #[test]
        fn sanitized_text_has_no_control_characters(input in "\\PC{0,300}|[\\x00-\\x1f]{0,50}") {
            let s = clipped(&input, 100);
            proptest::prop_assert!(!s.chars().any(char::is_control));
            proptest::prop_assert!(s.chars().count() <= 101);
        }
    }
}
