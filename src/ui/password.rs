/*!
The one password stripper for store locations that are printed or handed on (hints, messages, a
child's `B24AUTH_STORE`). It works on the text the user gave and nothing else: a password that
reached b24auth another way (`PGPASSWORD`, `.pgpass`) is never put into a printed location.
*/

use url::Url;

/// `store` with any password removed (URL userinfo, `?password=`, or `password=` in a
/// key=value connection string); `None` when it cannot be parsed to tell.
pub fn without_password(store: &str) -> Option<String> {
    if let Ok(mut url) = Url::parse(store) {
        if url.scheme() == "postgres" || url.scheme() == "postgresql" {
            let _ = url.set_password(None);
            // The other pairs stay as the user wrote them (a socket path is not re-encoded).
            if let Some(query) = url.query() {
                let kept: Vec<&str> = query.split('&').filter(|kv| !is_password(kv)).collect();
                let kept = kept.join("&");
                url.set_query((!kept.is_empty()).then_some(kept.as_str()));
            }
        }
        return Some(url.to_string());
    }
    if store == "file" {
        return Some(store.to_string());
    }
    if store.contains('=') {
        // A key=value connection string; a quoted password may hold spaces: drop it all then.
        if store.contains('\'') && store.contains("password") {
            return None;
        }
        let kept: Vec<&str> = store
            .split_whitespace()
            .filter(|kv| !kv.trim_start().starts_with("password"))
            .collect();
        return Some(kept.join(" "));
    }
    None
}

/// Whether one `key=value` of a query is the password (the key compared decoded).
fn is_password(pair: &str) -> bool {
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .is_some_and(|(k, _)| k == "password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_passwords_are_taken_out() {
        assert_eq!(
            without_password("postgres://u:pw@db.example/b24?sslmode=require&password=x").unwrap(),
            "postgres://u@db.example/b24?sslmode=require"
        );
        assert_eq!(without_password("file").unwrap(), "file");
        assert_eq!(
            without_password("host=db user=u password=pw dbname=b").unwrap(),
            "host=db user=u dbname=b"
        );
        assert_eq!(without_password("host=db password='a b'"), None);
        // A query without a password stays as written (a socket path is not re-encoded).
        let socket = "postgres:///t1?user=postgres&host=/tmp/pg dir&port=5433";
        assert_eq!(
            without_password(socket).unwrap(),
            Url::parse(socket).unwrap().as_str()
        );
        assert_eq!(
            without_password("postgres:///t1?host=/tmp/s&pass%77ord=SECRET&port=1").unwrap(),
            "postgres:///t1?host=/tmp/s&port=1"
        );
    }
}
