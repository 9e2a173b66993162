/*!
The one password stripper for store locations that are printed or handed on (hints, messages, a
child's `B24AUTH_STORE`). It works on the text the user gave and nothing else: a password that
reached b24auth another way (`PGPASSWORD`, `.pgpass`) is never put into a printed location.
*/

use url::Url;

/// `store` with any password removed (URL userinfo, `?password=`, or `password=` in a
/// key=value connection string); `None` when it cannot be parsed to tell.
pub fn without_password(store: &str) -> Option<String> {
    if store.starts_with("postgres://") || store.starts_with("postgresql://") {
        return Some(postgres_url_without_password(store));
    }
    if let Ok(url) = Url::parse(store) {
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

/// A PostgreSQL URL without its password, by text: a multi-host URL (`h1:5432,h2:5433`) is no
/// URL to a URL parser, and everything but the password stays as the user wrote it. The
/// userinfo ends at the last `@` before the query (a password may hold `/`, `:` or `@`).
fn postgres_url_without_password(store: &str) -> String {
    let (scheme, rest) = store.split_once("://").expect("checked by the caller");
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let location = match before_query.rfind('@') {
        Some(at) => {
            let user = before_query[..at].split(':').next().unwrap_or("");
            format!("{user}@{}", &before_query[at + 1..])
        }
        None => before_query.to_string(),
    };
    let mut out = format!("{scheme}://{location}");
    if let Some(query) = query {
        let kept: Vec<&str> = query.split('&').filter(|kv| !is_password(kv)).collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
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
        assert_eq!(without_password(socket).unwrap(), socket);
        assert_eq!(
            without_password("postgres:///t1?host=/tmp/s&pass%77ord=SECRET&port=1").unwrap(),
            "postgres:///t1?host=/tmp/s&port=1"
        );
        // Multi-host URLs are no URLs to a parser; the password goes all the same.
        assert_eq!(
            without_password("postgres://u:SECRET@h1:5432,h2:5433/db?sslmode=disable").unwrap(),
            "postgres://u@h1:5432,h2:5433/db?sslmode=disable"
        );
        assert_eq!(
            without_password("postgresql://u:p/w@x@[::1]:5432,[::1]:5433/db").unwrap(),
            "postgresql://u@[::1]:5432,[::1]:5433/db"
        );
        assert_eq!(
            without_password("postgres://h1,h2/db?password=SECRET").unwrap(),
            "postgres://h1,h2/db"
        );
    }
}
