/*!
PHP's `http_build_query`, the form Bitrix24's `batch` takes a command's parameters in: a JSON
params object as one `a[b]=…` query string.
*/

use serde_json::{Map, Value};

/// PHP's `http_build_query`: nested objects as `a[b]=…`, lists as `a[0]=…`, `true`/`false` as
/// `1`/`0`; `null` and empty containers send nothing (PHP cannot say them in a query either).
/// Values are percent-encoded, so a `$result[…]` reference arrives as text the portal decodes
/// before it resolves it, as PHP clients send it.
pub fn php_query(params: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    for (k, v) in params {
        push_pairs(&encode(k), v, &mut out);
    }
    out.join("&")
}

fn push_pairs(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                push_pairs(&format!("{prefix}[{}]", encode(k)), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                push_pairs(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Bool(b) => out.push(format!("{prefix}={}", u8::from(*b))),
        Value::Number(n) => out.push(format!("{prefix}={n}")),
        Value::String(s) => out.push(format!("{prefix}={}", encode(s))),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::batch::command;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn queries_are_php_brackets() {
        let p = obj(json!({
            "filter": {">ID": "10", "STAGE_ID": "WON"},
            "select": ["ID", "TITLE"],
            "order": {"ID": "ASC"},
            "start": -1,
            "flag": true,
            "none": null,
            "text": "a b&c=d/é",
            "fields": {"PHONE": [{"VALUE": "+1", "VALUE_TYPE": "WORK"}]}
        }));
        assert_eq!(
            php_query(&p),
            "filter[%3EID]=10&filter[STAGE_ID]=WON&select[0]=ID&select[1]=TITLE&order[ID]=ASC\
             &start=-1&flag=1&text=a%20b%26c%3Dd%2F%C3%A9\
             &fields[PHONE][0][VALUE]=%2B1&fields[PHONE][0][VALUE_TYPE]=WORK"
        );
        assert_eq!(command("user.current", &Map::new()), "user.current");
        assert_eq!(
            command("crm.deal.list", &obj(json!({"start": 50}))),
            "crm.deal.list?start=50"
        );
    }
}
