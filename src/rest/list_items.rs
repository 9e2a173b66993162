/*!
The items of a list method's page, in whichever shape the method returns them, and its
`total` as a number.
*/

use serde_json::{Map, Value};

/// The items of a list method's page: `result` itself, or the one array inside it
/// (`{"result":{"items":[…]}}`, `{"result":{"tasks":[…]}}`).
pub(crate) fn page_items(response: &Map<String, Value>) -> Vec<Value> {
    response
        .get("result")
        .cloned()
        .map(result_items)
        .unwrap_or_default()
}

/// [`page_items`] of a page's `result`, taken by value (no copy of the items).
pub(crate) fn result_items(result: Value) -> Vec<Value> {
    match result {
        Value::Array(items) => items,
        Value::Object(mut o) => {
            let arrays: Vec<&String> = o
                .iter()
                .filter(|(_, v)| v.is_array())
                .map(|(k, _)| k)
                .collect();
            match arrays.as_slice() {
                [one] => {
                    let key = (*one).clone();
                    match o.shift_remove(&key) {
                        Some(Value::Array(items)) => items,
                        _ => unreachable!("the key holds an array"),
                    }
                }
                _ => vec![Value::Object(o)],
            }
        }
        other => vec![other],
    }
}

/// Items in one page of a list method.
pub const PAGE: u64 = 50;

/// `total` when it is a count: `start=-1` answers carry `"total": 0` (huge-data.md), no count.
pub fn count(total: Option<&Value>) -> Option<&Value> {
    total.filter(|t| as_u64(t).is_some_and(|n| n > 0))
}

/// A number Bitrix24 may send as a JSON number or a string (`"total": "120"`).
pub fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_pages() {
        let r = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            page_items(&r(json!({"result": [1, 2]}))),
            vec![json!(1), json!(2)]
        );
        assert_eq!(
            page_items(&r(json!({"result": {"items": [3]}}))),
            vec![json!(3)]
        );
    }

    #[test]
    fn a_zero_total_is_no_count() {
        assert_eq!(count(Some(&json!(0))), None);
        assert_eq!(count(Some(&json!("0"))), None);
        assert_eq!(count(Some(&json!(120))), Some(&json!(120)));
        assert_eq!(count(Some(&json!("120"))), Some(&json!("120")));
        assert_eq!(count(None), None);
    }
}
