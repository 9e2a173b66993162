/*!
The PHP-bracket `KEY=VALUE` / `KEY:=JSON` pairs of `call` that build a request body the way PHP
would encode them (`filter[STAGE_ID]=WON`, `select[]=ID`, `fields[PHONE][0][VALUE]=…`).
*/

use anyhow::Result;
use serde_json::{Map, Value};

use crate::exit;

/// Builds a JSON object from `KEY=VALUE` (a string) and `KEY:=JSON` (a raw value) pairs, with
/// PHP bracket keys for nesting: `filter[STAGE_ID]=WON`, `select[]=ID`, `a[b][c]:=1`.
pub(crate) fn pairs_to_json(pairs: &[String]) -> Result<Map<String, Value>> {
    let mut root = Value::Object(Map::new());
    for pair in pairs {
        let (key, value) = parse_pair(pair)?;
        let path = bracket_path(&key).ok_or_else(|| {
            exit::usage(format!("`{key}` is not a valid key (use a, a[b] or a[])"))
        })?;
        insert(&mut root, &path, value).map_err(|why| exit::usage(format!("`{pair}`: {why}")))?;
    }
    match root {
        Value::Object(m) => Ok(m),
        _ => unreachable!("the root stays an object"),
    }
}

fn parse_pair(pair: &str) -> Result<(String, Value)> {
    let eq = pair
        .find('=')
        .ok_or_else(|| exit::usage(format!("`{pair}` is not KEY=VALUE or KEY:=JSON")))?;
    let (key, rest) = pair.split_at(eq);
    let rest = &rest[1..];
    if let Some(key) = key.strip_suffix(':') {
        let value = serde_json::from_str(rest)
            .map_err(|e| exit::usage(format!("`{pair}`: the value is not JSON ({e})")))?;
        return Ok((key.to_string(), value));
    }
    Ok((key.to_string(), Value::String(rest.to_string())))
}

/// `a[b][]` → `["a", "b", ""]`; `""` stands for "append".
fn bracket_path(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut path = vec![head.to_string()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        path.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    Some(path)
}

fn insert(node: &mut Value, path: &[String], value: Value) -> Result<(), &'static str> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    let child_default = || match rest.first() {
        // PHP encodes keys 0, 1, 2… as a JSON list.
        Some(k) if k.is_empty() || k.parse::<usize>().is_ok() => Value::Array(Vec::new()),
        Some(_) => Value::Object(Map::new()),
        None => Value::Null,
    };
    match node {
        Value::Object(map) if !first.is_empty() => {
            let child = map.entry(first.clone()).or_insert_with(child_default);
            insert(child, rest, value)
        }
        Value::Array(items) if first.is_empty() => {
            items.push(child_default());
            insert(items.last_mut().expect("just pushed"), rest, value)
        }
        Value::Array(items) => match first.parse::<usize>() {
            Ok(i) if i < items.len() => insert(&mut items[i], rest, value),
            Ok(i) if i == items.len() => {
                items.push(child_default());
                insert(&mut items[i], rest, value)
            }
            Ok(_) => Err("list indexes must count up from 0"),
            Err(_) => Err("mixes a list with named keys"),
        },
        _ => Err("gives one key both a value and nested keys"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bracket_pairs_build_the_json_bitrix24_expects() {
        let cases: &[(&[&str], Value)] = &[
            (&["ID=5"], json!({"ID": "5"})),
            (
                &["filter[STAGE_ID]=WON"],
                json!({"filter": {"STAGE_ID": "WON"}}),
            ),
            (
                &["select[]=ID", "select[]=TITLE"],
                json!({"select": ["ID", "TITLE"]}),
            ),
            (
                &["filter[>OPPORTUNITY]=1000", "filter[STAGE_ID]=WON"],
                json!({"filter": {">OPPORTUNITY": "1000", "STAGE_ID": "WON"}}),
            ),
            (
                &["fields[TITLE]=Deal", "fields[OPPORTUNITY]:=1500.5"],
                json!({"fields": {"TITLE": "Deal", "OPPORTUNITY": 1500.5}}),
            ),
            (
                &["order[ID]=DESC", "start:=50"],
                json!({"order": {"ID": "DESC"}, "start": 50}),
            ),
            (
                &[
                    "fields[PHONE][0][VALUE]=+100",
                    "fields[PHONE][0][VALUE_TYPE]=WORK",
                ],
                json!({"fields": {"PHONE": [{"VALUE": "+100", "VALUE_TYPE": "WORK"}]}}),
            ),
            (
                &["cmd[a]=user.current", "halt:=0"],
                json!({"cmd": {"a": "user.current"}, "halt": 0}),
            ),
            (
                &["filter:={\"ID\":[1,2]}"],
                json!({"filter": {"ID": [1, 2]}}),
            ),
            (&["NAME=a=b"], json!({"NAME": "a=b"})),
            (&["EMPTY="], json!({"EMPTY": ""})),
        ];
        for (pairs, expected) in cases {
            let pairs: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                Value::Object(pairs_to_json(&pairs).unwrap()),
                *expected,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn bad_pairs_are_usage_errors() {
        for bad in [
            &["novalue"][..],
            &["[x]=1"],
            &["a[b=1"],
            &["a=1", "a[b]=2"],
            &["n:=nojson"],
        ] {
            let pairs: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            let err = pairs_to_json(&pairs).unwrap_err();
            assert_eq!(
                err.downcast_ref::<crate::exit::Error>()
                    .map(crate::exit::Error::code),
                Some(crate::exit::ExitCode::Usage as i32),
                "{bad:?}"
            );
        }
    }
}
