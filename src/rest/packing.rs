/*!
Packing many calls into Bitrix24's `batch` method, as pure data: the PHP-bracket query that turns a JSON params object
into one `method?query` command, the request of at most 50 commands, the answer split back
into one outcome per command in order, and the two ways an export pages a list through it:
`start=` pages (when the first page told the total) and the ID cursor (`order[ID]=ASC`,
`filter[>ID]=…`, `start=-1`) chained through `$result[cmdN][49][ID]` references.

Nothing here touches the network; `export/` and `lines.rs` do.
*/

use anyhow::{anyhow, Result};
use serde_json::{json, Map, Value};

use super::list_items::result_items;
use crate::exit;

/// Commands in one `batch` request: Bitrix24's limit.
pub const MAX_COMMANDS: usize = 50;

/// Items in one page of a list method.
pub const PAGE: u64 = 50;

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

/// The `start=` of every page after the first, when the first page said `next` and `total`.
pub fn remaining_starts(next: u64, step: u64, total: u64) -> Vec<u64> {
    let step = step.max(1);
    (0u64..)
        .map_while(|k| k.checked_mul(step).and_then(|o| next.checked_add(o)))
        .take_while(|s| *s < total)
        .collect()
}

/// A list method's parameters prepared for the ID cursor, and whether `ID` was added to the
/// user's `select` (and must not show in the output).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub params: Map<String, Value>,
    pub strip_id: bool,
    /// Where the cursor starts: the user's own `filter[>ID]`, if any.
    pub after: Option<String>,
}

/// Prepares `params` for the ID cursor: `order[ID]=ASC`, `start=-1`, `ID` in `select`.
/// A user's `filter[>ID]` becomes the cursor's start; another `order` or `start` cannot be
/// honoured, so they are usage errors.
pub fn cursor(mut params: Map<String, Value>) -> Result<Cursor> {
    if let Some(order) = params.get("order") {
        let only_id_asc = order.as_object().is_some_and(|o| {
            o.len() == 1
                && o.get("ID").and_then(Value::as_str).map(str::to_uppercase) == Some("ASC".into())
        });
        if !only_id_asc {
            return Err(exit::usage(
                "--by-id reads in ID order: drop order[…] or use --all without --by-id",
            ));
        }
    }
    if params.contains_key("start") {
        return Err(exit::usage(
            "--by-id pages by ID, not start=: drop start or use --all without --by-id",
        ));
    }
    let mut after = None;
    if let Some(Value::Object(filter)) = params.get_mut("filter") {
        if let Some(v) = filter.remove(">ID") {
            after = Some(
                id_text(&v)
                    .ok_or_else(|| exit::usage("filter[>ID] must be a number for --by-id"))?,
            );
        }
    }
    let mut strip_id = false;
    if let Some(Value::Array(select)) = params.get_mut("select") {
        let has = |f: &str| select.iter().any(|v| v.as_str() == Some(f));
        if !select.is_empty() && !has("ID") && !has("*") {
            select.push(json!("ID"));
            strip_id = true;
        }
    }
    params.insert("order".into(), json!({"ID": "ASC"}));
    params.insert("start".into(), json!(-1));
    Ok(Cursor {
        params,
        strip_id,
        after,
    })
}

/// An item's `ID` as the text a filter takes.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

impl Cursor {
    /// `count` (at most 50) chained commands of one batch: the first reads after `after`
    /// (from the start when `None`), each next one after the last ID of the one before; all
    /// up to `upto` (`filter[<=ID]`) when given.
    pub fn commands(
        &self,
        method: &str,
        after: Option<&str>,
        upto: Option<&str>,
        count: usize,
    ) -> Vec<String> {
        (0..count.min(MAX_COMMANDS))
            .map(|i| {
                let mut params = self.params.clone();
                let from = match (i, after) {
                    (0, None) => None,
                    (0, Some(id)) => Some(id.to_string()),
                    _ => Some(format!("$result[{}][{}][ID]", key(i - 1), PAGE - 1)),
                };
                let bounds = [(">ID", from), ("<=ID", upto.map(String::from))];
                for (op, id) in bounds {
                    let Some(id) = id else { continue };
                    let filter = params
                        .entry("filter")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(f) = filter {
                        f.insert(op.into(), Value::String(id));
                    }
                }
                command(method, &params)
            })
            .collect()
    }

    /// Whether the ID space may be split into ranges: not when the user's filter already
    /// says something else about `ID` (`<ID`, `=ID`, `@ID`, …), which a range bound would meet.
    pub fn splittable(&self) -> bool {
        let Some(Value::Object(filter)) = self.params.get("filter") else {
            return true;
        };
        !filter
            .keys()
            .any(|k| k.trim_start_matches(['<', '>', '=', '!', '@', '%']) == "ID")
    }

    /// The output form of an item: without `ID` when only the cursor asked for it.
    pub fn shown(&self, mut item: Value) -> Value {
        if self.strip_id {
            if let Value::Object(m) = &mut item {
                m.shift_remove("ID");
            }
        }
        item
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

/// One input line of `b24auth batch`: a method, its parameters, and whether it is a REST 3.0
/// call (sent on its own, not in a `batch`).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub method: String,
    pub params: Map<String, Value>,
    pub v3: bool,
}

/// One input line of `b24auth batch`: `{"method": …, "params": {…}}` (with `"v3": true` for
/// REST 3.0) or `[method, params]`.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let (method, params) = match &v {
        Value::Object(o) => (o.get("method"), o.get("params")),
        Value::Array(a) if (1..=2).contains(&a.len()) => (a.first(), a.get(1)),
        _ => return Err("expected {\"method\": …, \"params\": {…}} or [method, params]".into()),
    };
    let method = method
        .and_then(Value::as_str)
        .filter(|m| valid_method(m))
        .ok_or("the method must be a name like crm.deal.list")?;
    let params = match params {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Err("params must be a JSON object".into()),
    };
    let v3 = match v.get("v3") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return Err("v3 must be true or false".into()),
    };
    Ok(Line {
        method: method.to_string(),
        params,
        v3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn start_pages_after_the_first() {
        assert_eq!(remaining_starts(50, 50, 120), vec![50, 100]);
        assert_eq!(remaining_starts(50, 50, 50), Vec::<u64>::new());
        assert_eq!(remaining_starts(50, 50, 10_000).len(), 199);
        assert_eq!(
            remaining_starts(u64::MAX - 60, 50, u64::MAX),
            vec![u64::MAX - 60, u64::MAX - 10]
        );
    }

    #[test]
    fn the_cursor_orders_by_id_and_adds_id_only_when_missing() {
        let c = cursor(obj(
            json!({"select": ["TITLE"], "filter": {"STAGE_ID": "WON"}}),
        ))
        .unwrap();
        assert!(c.strip_id);
        assert_eq!(c.after, None);
        assert_eq!(
            Value::Object(c.params.clone()),
            json!({"select": ["TITLE", "ID"], "filter": {"STAGE_ID": "WON"},
                   "order": {"ID": "ASC"}, "start": -1})
        );
        assert_eq!(
            c.shown(json!({"TITLE": "x", "ID": "5"})),
            json!({"TITLE": "x"})
        );
        for keeps in [json!(["ID", "TITLE"]), json!(["*"]), json!([])] {
            let c = cursor(obj(json!({ "select": keeps }))).unwrap();
            assert!(!c.strip_id);
            assert_eq!(c.shown(json!({"ID": "5"})), json!({"ID": "5"}));
        }
        let c = cursor(obj(
            json!({"filter": {">ID": "500"}, "order": {"ID": "asc"}}),
        ))
        .unwrap();
        assert_eq!(c.after.as_deref(), Some("500"));
        for bad in [
            json!({"order": {"TITLE": "ASC"}}),
            json!({"start": 0}),
            json!({"filter": {">ID": "x"}}),
        ] {
            let err = cursor(obj(bad)).unwrap_err();
            assert_eq!(
                err.downcast_ref::<exit::Error>().map(exit::Error::code),
                Some(exit::ExitCode::Usage as i32)
            );
        }
    }

    #[test]
    fn the_cursor_chains_each_command_to_the_one_before() {
        let c = cursor(obj(json!({"select": ["TITLE"]}))).unwrap();
        let cmds = c.commands("crm.deal.list", None, None, 99);
        assert_eq!(cmds.len(), MAX_COMMANDS);
        assert_eq!(
            cmds[0],
            "crm.deal.list?select[0]=TITLE&select[1]=ID&order[ID]=ASC&start=-1"
        );
        assert_eq!(
            cmds[49],
            "crm.deal.list?select[0]=TITLE&select[1]=ID&order[ID]=ASC&start=-1\
             &filter[%3EID]=%24result%5Bcmd48%5D%5B49%5D%5BID%5D"
        );
        let cmds = c.commands("crm.deal.list", Some("2500"), Some("5000"), 3);
        assert_eq!(cmds.len(), 3);
        assert!(
            cmds[0].ends_with("&filter[%3EID]=2500&filter[%3C%3DID]=5000"),
            "{}",
            cmds[0]
        );
        assert!(c.splittable());
        for no in [json!({"<ID": 9}), json!({"@ID": [1, 2]}), json!({"ID": 3})] {
            assert!(!cursor(obj(json!({"filter": no}))).unwrap().splittable());
        }
        assert!(cursor(obj(json!({"filter": {"STAGE_ID": "WON"}})))
            .unwrap()
            .splittable());
    }

    #[test]
    fn batch_input_lines() {
        let line = |method: &str, params: Map<String, Value>, v3| Line {
            method: method.into(),
            params,
            v3,
        };
        assert_eq!(
            parse_line(r#"{"method": "crm.deal.get", "params": {"id": 1}}"#),
            Ok(line("crm.deal.get", obj(json!({"id": 1})), false))
        );
        assert_eq!(
            parse_line(r#"["user.current"]"#),
            Ok(line("user.current", Map::new(), false))
        );
        assert_eq!(
            parse_line(r#"{"method": "tasks.task.get", "params": {"id": 1}, "v3": true}"#),
            Ok(line("tasks.task.get", obj(json!({"id": 1})), true))
        );
        assert!(parse_line(r#"{"method": "tasks.task.get", "v3": "yes"}"#).is_err());
        for bad in [
            "nope",
            "1",
            r#"{"method": "a?b=1"}"#,
            r#"["x", 1]"#,
            r#"{"params": {}}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}
