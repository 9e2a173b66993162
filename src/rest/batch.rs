/*!
Packing many calls into Bitrix24's `batch` method, as pure data: one `method?query` command per
call (its parameters as PHP brackets, [`super::php_query`]), the request of at most 50 commands,
and the answer split back into one outcome per command in order. Nothing here touches the
network; `export/` and `lines.rs` do.
*/

use anyhow::{anyhow, Result};
use serde_json::{json, Map, Value};

use super::list_items::result_items;
use super::php_query::php_query;

/// Commands in one `batch` request: Bitrix24's limit.
pub const MAX_COMMANDS: usize = 50;

/// The key of the `i`-th command of a batch.
pub fn key(i: usize) -> String {
    format!("cmd{i}")
}

/// `method?query`, or just `method` when there are no parameters.
pub fn command(method: &str, params: &Map<String, Value>) -> String {
    let query = php_query(params);
    if query.is_empty() {
        method.to_string()
    } else {
        format!("{method}?{query}")
    }
}

/// The body of one `batch` request: `{"halt": 0|1, "cmd": {"cmd0": "method?query", …}}`.
pub fn request(commands: &[String], halt: bool) -> Map<String, Value> {
    let cmd: Map<String, Value> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| (key(i), Value::String(c.clone())))
        .collect();
    let mut body = Map::new();
    body.insert("halt".into(), json!(u8::from(halt)));
    body.insert("cmd".into(), Value::Object(cmd));
    body
}

/// What became of one command of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandResult {
    /// Its `result`, with the list method's `total` and `next` when the portal sent them.
    Done {
        result: Value,
        total: Option<Value>,
        next: Option<Value>,
    },
    Failed {
        error: String,
        description: String,
    },
    /// `halt` stopped the batch before it.
    NotRun,
}

impl CommandResult {
    /// The JSON line `b24auth batch` prints for it: what a single call would have answered.
    pub fn to_line(&self) -> Value {
        match self {
            CommandResult::Done {
                result,
                total,
                next,
            } => {
                let mut line = json!({ "result": result });
                if let Some(t) = total {
                    line["total"] = t.clone();
                }
                if let Some(n) = next {
                    line["next"] = n.clone();
                }
                line
            }
            CommandResult::Failed { error, description } => {
                json!({"error": error, "error_description": description})
            }
            CommandResult::NotRun => {
                json!({"error": "NOT_RUN", "error_description": "not run: halt stopped the batch at an earlier error"})
            }
        }
    }

    /// The items of a list method's page ([`result_items`]), or the command's error.
    pub fn into_items(self) -> Result<Vec<Value>> {
        match self {
            CommandResult::Done { result, .. } => Ok(result_items(result)),
            CommandResult::Failed { error, description } => Err(anyhow!("{error}: {description}")),
            CommandResult::NotRun => Err(anyhow!("the portal did not run a page of the batch")),
        }
    }
}

/// Splits a `batch` answer into one outcome per command, in the order the commands were sent.
/// Each part (`result`, `result_error`, …) may be an object keyed by command, a list (when the
/// keys were 0..n-1) or `[]` when empty: PHP's `json_encode` of an array. The answer is taken
/// apart, not copied. A command's error text is redacted of `sent` (the secrets b24auth sent)
/// like any other error a server writes; a command the portal left out is [`CommandResult::NotRun`]
/// only under `halt` (which explains it), else a failure of its own.
pub fn outcomes(
    mut answer: Map<String, Value>,
    count: usize,
    halt: bool,
    sent: &[String],
) -> Result<Vec<CommandResult>> {
    let sent: Vec<&str> = sent.iter().map(String::as_str).collect();
    let Some(Value::Object(mut inner)) = answer.remove("result") else {
        return Err(anyhow!("batch: the portal's answer has no result object"));
    };
    let mut part = |name: &str, i: usize| -> Option<Value> { take(inner.get_mut(name)?, i) };
    Ok((0..count)
        .map(|i| {
            if let Some(err) = part("result_error", i) {
                let text = |k: &str| err.get(k).and_then(Value::as_str).map(String::from);
                let error = text("error").unwrap_or_else(|| err.to_string());
                let description =
                    text("error_description").unwrap_or_else(|| "no description".into());
                return CommandResult::Failed {
                    error: crate::ui::sanitize::redact(&error, &sent),
                    description: crate::ui::sanitize::redact(&description, &sent),
                };
            }
            match part("result", i) {
                Some(result) => CommandResult::Done {
                    result,
                    total: part("result_total", i),
                    next: part("result_next", i),
                },
                None if halt => CommandResult::NotRun,
                None => CommandResult::Failed {
                    error: "NO_RESULT".into(),
                    description: "the portal's batch answer has neither a result nor an error for this command".into(),
                },
            }
        })
        .collect())
}

/// Takes the `i`-th command's entry out of one part of the answer.
fn take(part: &mut Value, i: usize) -> Option<Value> {
    match part {
        Value::Object(map) => {
            let name = match map.contains_key(&key(i)) {
                true => key(i),
                false => i.to_string(),
            };
            map.get_mut(&name).map(Value::take)
        }
        Value::Array(items) => items.get_mut(i).map(Value::take),
        _ => None,
    }
}

/// A REST method name as `batch` takes it: no `?`, `&` or spaces can hide in it.
pub fn valid_method(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_request_keys_commands_in_order() {
        let body = request(&["a".into(), "b?x=1".into()], true);
        assert_eq!(
            Value::Object(body),
            json!({"halt": 1, "cmd": {"cmd0": "a", "cmd1": "b?x=1"}})
        );
    }

    #[test]
    fn answers_split_per_command_objects_lists_and_empty_parts() {
        let answer = obj(json!({"result": {
            "result": {"cmd0": [{"ID": "1"}], "cmd2": {"ID": "7"}},
            "result_error": {"cmd1": {"error": "ERROR_CORE", "error_description": "boom"}},
            "result_total": {"cmd0": 120},
            "result_next": {"cmd0": 50},
            "result_time": {}
        }, "time": {}}));
        let got = outcomes(answer.clone(), 4, true, &[]).unwrap();
        assert_eq!(
            got[0],
            CommandResult::Done {
                result: json!([{"ID": "1"}]),
                total: Some(json!(120)),
                next: Some(json!(50))
            }
        );
        assert_eq!(
            got[1],
            CommandResult::Failed {
                error: "ERROR_CORE".into(),
                description: "boom".into()
            }
        );
        assert_eq!(got[2].to_line(), json!({"result": {"ID": "7"}}));
        assert_eq!(got[3], CommandResult::NotRun);
        let got = outcomes(answer, 4, false, &[]).unwrap();
        assert!(
            matches!(&got[3], CommandResult::Failed { error, .. } if error == "NO_RESULT"),
            "without halt, a command left out is not blamed on halt: {:?}",
            got[3]
        );

        // Keys 0..n-1 come back as lists; empty parts as [].
        let answer = obj(json!({"result": {
            "result": [[1], [2]], "result_error": [], "result_total": [],
            "result_next": [], "result_time": []
        }}));
        let got = outcomes(answer, 2, false, &[]).unwrap();
        assert_eq!(got[1].to_line(), json!({"result": [2]}));
        assert!(outcomes(obj(json!({"error": "x"})), 1, false, &[]).is_err());

        // A command's error that echoes a secret is redacted like any other server text.
        let answer = obj(json!({"result": {"result": [], "result_error": {"cmd0": {
            "error": "ERROR_CORE", "error_description": "bad auth=sEcReT-token\u{1b}[2J"}}}}));
        let got = outcomes(answer, 1, false, &["sEcReT-token".into()]).unwrap();
        assert_eq!(
            got[0],
            CommandResult::Failed {
                error: "ERROR_CORE".into(),
                description: "bad auth=…".into()
            }
        );
    }
}
