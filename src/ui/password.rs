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
            // Rebuilt only when it held a password: the rest is printed as the user wrote it.
            if url.query_pairs().any(|(k, _)| k == "password") {
                let kept: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "password")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.set_query(None);
                if !kept.is_empty() {
                    url.query_pairs_mut().extend_pairs(kept);
                }
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
            without_password("postgres:///t1?host=/tmp/s&password=SECRET").unwrap(),
            "postgres:///t1?host=%2Ftmp%2Fs"
        );
    }
}
