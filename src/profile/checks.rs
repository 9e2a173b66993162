/*!
The rules for every value b24auth stores from outside, in one place, applied once where the value
enters: an imported file, the installation callback, the code exchange and the refresh answer.

- tokens and secrets (`access_token`, `refresh_token`, `application_token`, `client_secret`):
  printable ASCII only, no space, at most [`MAX_TOKEN`] characters;
- endpoints (`client_endpoint`, `server_endpoint`): an `http(s)://` URL with a host, written with
  no space or control character;
- everything else (identifiers such as `member_id`, `domain`, `client_id`, `scope`, unknown
  fields, keys too): no control character.

So a stored value can never break a line of `show --format env`, reach the terminal as an escape
sequence, or turn into a NUL that no environment variable can carry.
*/

use serde_json::{Map, Value};

use super::key;

/// The longest token or secret accepted: Bitrix24's are 70 characters or fewer.
pub const MAX_TOKEN: usize = 2048;

const TOKENS: [&str; 4] = [
    key::ACCESS_TOKEN,
    key::REFRESH_TOKEN,
    key::APPLICATION_TOKEN,
    key::CLIENT_SECRET,
];
const ENDPOINTS: [&str; 2] = [key::CLIENT_ENDPOINT, key::SERVER_ENDPOINT];

/// Why a value from outside was refused: the field and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRule {
    pub field: String,
    pub rule: &'static str,
}

impl std::fmt::Display for BrokenRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The field name itself may be the offending text: then it is shown with escapes.
        match has_control(&self.field) {
            true => write!(f, "the field {:?} {}", self.field, self.rule),
            false => write!(f, "the field `{}` {}", self.field, self.rule),
        }
    }
}

impl std::error::Error for BrokenRule {}

/// Checks every field of a document that came from outside.
pub fn fields(doc: &Map<String, Value>) -> Result<(), BrokenRule> {
    doc.iter().try_for_each(|(name, value)| field(name, value))
}

/// Checks one field from outside by the rule its name calls for: a token answer is checked
/// field by field, so one offending field can be left out while the rotated tokens are kept.
pub fn field(name: &str, value: &Value) -> Result<(), BrokenRule> {
    let refused = |rule| BrokenRule {
        field: name.to_string(),
        rule,
    };
    if has_control(name) {
        return Err(refused("has a control character in its name"));
    }
    let rule = if TOKENS.contains(&name) {
        token_value(value)
    } else if ENDPOINTS.contains(&name) {
        endpoint_value(value)
    } else {
        identifier_value(value)
    };
    rule.map_err(refused)
}

/// One token or secret by itself (`client_secret` from a file, a stored access token).
pub fn token(name: &str, value: &str) -> Result<(), BrokenRule> {
    token_rule(value).map_err(|rule| BrokenRule {
        field: name.into(),
        rule,
    })
}

/// One identifier by itself (`client_id` from a file).
pub fn identifier(name: &str, value: &str) -> Result<(), BrokenRule> {
    match has_control(value) {
        true => Err(BrokenRule {
            field: name.into(),
            rule: CONTROL,
        }),
        false => Ok(()),
    }
}

const CONTROL: &str = "holds a control character (a line break, an escape, a NUL)";

fn token_value(value: &Value) -> Result<(), &'static str> {
    match value {
        Value::String(s) => token_rule(s),
        Value::Null => Ok(()),
        _ => Err("is not text"),
    }
}

fn token_rule(s: &str) -> Result<(), &'static str> {
    if s.len() > MAX_TOKEN {
        return Err("is longer than 2048 characters");
    }
    match s.bytes().all(|b| b.is_ascii_graphic()) {
        true => Ok(()),
        false => Err("holds a character other than printable ASCII (a space, a line break, an escape, a NUL or non-ASCII)"),
    }
}

fn endpoint_value(value: &Value) -> Result<(), &'static str> {
    let s = match value {
        Value::String(s) => s,
        Value::Null => return Ok(()),
        _ => return Err("is not text"),
    };
    // `Url::parse` silently drops tabs and line breaks: the raw text is checked first.
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("is not a URL (it holds a space or a control character)");
    }
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err("is not an http(s):// URL"),
    }
}

/// Identifiers and unknown fields: no control character anywhere inside, keys included.
fn identifier_value(value: &Value) -> Result<(), &'static str> {
    match value {
        Value::String(s) if has_control(s) => Err(CONTROL),
        Value::Array(items) => items.iter().try_for_each(identifier_value),
        Value::Object(m) => m.iter().try_for_each(|(k, v)| match has_control(k) {
            true => Err(CONTROL),
            false => identifier_value(v),
        }),
        _ => Ok(()),
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), BrokenRule> {
        fields(v.as_object().unwrap())
    }

    #[test]
    fn bitrix_fields_pass() {
        check(json!({"access_token":"717e0567006e9f06006b12e4","refresh_token":"61fd2c67",
            "expires":"1728413297","expires_in":3600,"scope":"crm,user","domain":"oauth.bitrix.info",
            "server_endpoint":"https://oauth.bitrix.info/rest/","status":"L",
            "client_endpoint":"https://b24-x.bitrix24.by/rest/","member_id":"m","user_id":1,
            "application_token":"51856fefc120afa4b628cc82d3935cce","nested":{"a":[1,"b c"]}}))
        .unwrap();
    }

    #[test]
    fn hostile_values_are_refused_naming_the_field() {
        for (doc, field) in [
            (
                json!({"application_token":"x\nLD_PRELOAD=./evil.so"}),
                "application_token",
            ),
            (json!({"access_token":"a b"}), "access_token"),
            (json!({"access_token":"tok\u{0}"}), "access_token"),
            (json!({"refresh_token":"ключ"}), "refresh_token"),
            (json!({"client_secret":12}), "client_secret"),
            (
                json!({"access_token":"a".repeat(MAX_TOKEN + 1)}),
                "access_token",
            ),
            (
                json!({"client_endpoint":"https://p.example/\nrest/"}),
                "client_endpoint",
            ),
            (
                json!({"server_endpoint":"javascript:alert(1)"}),
                "server_endpoint",
            ),
            (json!({"client_endpoint":"not a url"}), "client_endpoint"),
            (
                json!({"member_id":"m\u{1b}]52;c;ZXZpbA==\u{7}"}),
                "member_id",
            ),
            (json!({"unknown":{"deep":["\r"]}}), "unknown"),
            (json!({"x\ny":"1"}), "x\ny"),
        ] {
            let e = check(doc).unwrap_err();
            assert_eq!(e.field, field);
            assert!(!e.to_string().chars().any(char::is_control), "{e}");
        }
    }

    #[test]
    fn single_values() {
        assert!(token("client_secret", "s3cr3t").is_ok());
        assert!(token("client_secret", "s3 cr3t").is_err());
        assert!(identifier("client_id", "local.1").is_ok());
        assert!(identifier("client_id", "local\t1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn an_accepted_token_is_one_shell_word(s in "\\PC{0,80}|[\\x00-\\x7f]{0,80}") {
            if token("access_token", &s).is_ok() {
                proptest::prop_assert!(s.bytes().all(|b| (0x21..0x7f).contains(&b)));
            }
        }
    }
}
