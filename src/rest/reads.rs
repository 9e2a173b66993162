/*!
Which calls only read: the ones b24auth may repeat when a gateway's answer leaves their outcome
unknown. A write (`crm.deal.add`, a `batch` with one write in it) that met a 502 or 504 may
have run on the portal behind the gateway, and running it again would do it twice; 503 is the
portal's own "overloaded, not done" answer and is repeated for every method.
*/

use serde_json::{Map, Value};

/// Whole method names that only read, beside the suffixes in [`READ_SUFFIXES`].
const READ_METHODS: [&str; 8] = [
    "profile",
    "app.info",
    "user.current",
    "user.admin",
    "scope",
    "methods",
    "server.time",
    "access.name",
];

/// The last part of a method name that reads (`crm.deal.list`, `crm.deal.get`, …).
const READ_SUFFIXES: [&str; 6] = ["list", "get", "fields", "search", "getlist", "getfields"];

/// Whether `method` (with `params`, for `batch`: every command in `cmd`) only reads. Bitrix24
/// spells methods in any case.
pub fn is_read(method: &str, params: &Map<String, Value>) -> bool {
    let method = method.to_ascii_lowercase();
    if method == "batch" {
        return batch_reads(params);
    }
    let last = method.rsplit('.').next().unwrap_or(&method);
    READ_METHODS.contains(&method.as_str())
        || (method.contains('.') && READ_SUFFIXES.contains(&last))
}

/// Every command of a `batch` reads (a `cmd` b24auth cannot read counts as a write).
fn batch_reads(params: &Map<String, Value>) -> bool {
    let commands: Vec<&Value> = match params.get("cmd") {
        Some(Value::Object(cmd)) => cmd.values().collect(),
        Some(Value::Array(cmd)) => cmd.iter().collect(),
        _ => return false,
    };
    commands.into_iter().all(|c| {
        c.as_str()
            .map(|c| c.split('?').next().unwrap_or(c))
            .is_some_and(|m| m != "batch" && is_read(m, &Map::new()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(cmd: Value) -> Map<String, Value> {
        json!({"cmd": cmd}).as_object().unwrap().clone()
    }

    #[test]
    fn reads_are_told_from_writes() {
        let none = Map::new();
        for m in [
            "crm.deal.list",
            "CRM.Deal.Get",
            "crm.deal.fields",
            "profile",
            "user.current",
        ] {
            assert!(is_read(m, &none), "{m}");
        }
        for m in [
            "crm.deal.add",
            "crm.deal.update",
            "crm.deal.delete",
            "list",
            "im.notify",
        ] {
            assert!(!is_read(m, &none), "{m}");
        }
        let reads = batch(json!({"a": "crm.deal.list?start=0", "b": "user.current"}));
        assert!(is_read("batch", &reads));
        assert!(is_read("batch", &batch(json!(["crm.deal.get?id=1"]))));
        let mixed = batch(json!({"a": "crm.deal.list", "b": "crm.deal.add?fields[TITLE]=x"}));
        assert!(!is_read("batch", &mixed));
        assert!(!is_read("batch", &batch(json!({"a": 1}))));
        assert!(!is_read("batch", &none));
    }
}
