/*!
The items of a list method's page, in whichever shape the method returns them.
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
}
