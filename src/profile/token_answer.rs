/*!
A token endpoint's answer as b24auth keeps it, read so that a rotated pair is never lost to
b24auth's own checks.

By the time the answer arrives, Bitrix24 has already killed the refresh token it was sent: the
pair in the answer is the only live one. So the answer is not refused as a whole when part of it
breaks a rule of [`checks`]: every field is checked on its own, a field that fails is left out
(and named, for the user), and the tokens that pass are kept. Only an answer without a
`refresh_token` b24auth can keep yields no pair.

An answer that cannot be read whole — over the size limit, nested deeper than the JSON reader
goes, or cut off — is not trusted for anything but its tokens: [`TokenAnswer::scanned`] walks the
bytes once, without building a tree or recursing, and takes only the top-level `access_token`
and `refresh_token` strings. Everything else in such an answer (the expiry, the portal) is
ignored: the access token then counts as expired, so the next command refreshes again.
*/

use serde_json::{Map, Value};

use super::checks::{self, BrokenRule};
use super::key;

/// A token answer's fields that passed their checks, and what was left out.
#[derive(Clone)]
pub(crate) struct TokenAnswer {
    fields: Map<String, Value>,
    /// The answer's fields that failed their check and were left out, with the rule each broke.
    pub dropped: Vec<BrokenRule>,
    /// Set when only the tokens were read: why the rest of the answer was not.
    pub only_tokens: Option<String>,
}

/// Why an answer yields no pair to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoPair {
    /// No `refresh_token` (nor an `access_token`): nothing was handed over.
    Missing,
    /// A `refresh_token` b24auth cannot keep in a profile (it broke this rule); the tokens as
    /// received, for a rescue copy.
    Refused(BrokenRule, Map<String, Value>),
}

/// A rotation whose `refresh_token` breaks b24auth's rule for tokens: the pair cannot be stored
/// as a profile, so it is rescued (the server has killed the one it was sent).
pub(crate) struct UnstorableRefreshToken {
    pub server: String,
    pub refused: BrokenRule,
    tokens: Map<String, Value>,
}

impl std::fmt::Display for UnstorableRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the OAuth server at {} answered a pair b24auth does not store: {}",
            self.server, self.refused
        )
    }
}

impl std::fmt::Debug for UnstorableRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnstorableRefreshToken({self})")
    }
}

impl std::error::Error for UnstorableRefreshToken {}

impl UnstorableRefreshToken {
    pub fn new(server: String, refused: BrokenRule, tokens: Map<String, Value>) -> Self {
        UnstorableRefreshToken {
            server,
            refused,
            tokens,
        }
    }

    /// The tokens as received, unchecked: only for the rescue copy.
    pub fn answer(&self) -> TokenAnswer {
        TokenAnswer {
            fields: self.tokens.clone(),
            dropped: Vec::new(),
            only_tokens: Some("its refresh token breaks b24auth's rule for tokens".into()),
        }
    }
}

impl TokenAnswer {
    /// An answer read whole: each field is checked on its own and kept or left out.
    pub fn checked(doc: Map<String, Value>) -> Result<TokenAnswer, NoPair> {
        let mut answer = TokenAnswer {
            fields: Map::new(),
            dropped: Vec::new(),
            only_tokens: None,
        };
        let raw = tokens_of(&doc);
        for (name, value) in doc {
            match checks::field(&name, &value) {
                Ok(()) => {
                    answer.fields.insert(name, value);
                }
                Err(refused) => answer.dropped.push(refused),
            }
        }
        answer.usable(raw)
    }

    /// An answer that could not be read whole (`why`): only its top-level tokens, found by a
    /// bounded scan of `bytes`.
    pub fn scanned(bytes: &[u8], why: String) -> Result<TokenAnswer, NoPair> {
        let mut answer = TokenAnswer {
            fields: Map::new(),
            dropped: Vec::new(),
            only_tokens: Some(why),
        };
        let found: Map<String, Value> = top_level_tokens(bytes)
            .into_iter()
            .map(|(name, value)| (name, value.into()))
            .collect();
        for (name, value) in &found {
            match checks::field(name, value) {
                Ok(()) => {
                    answer.fields.insert(name.clone(), value.clone());
                }
                Err(refused) => answer.dropped.push(refused),
            }
        }
        answer.usable(found)
    }

    /// A pair is kept only with its refresh token; an empty one counts as missing. `raw`: the
    /// tokens as received, handed back when the refresh token was refused.
    fn usable(mut self, raw: Map<String, Value>) -> Result<TokenAnswer, NoPair> {
        for name in [key::ACCESS_TOKEN, key::REFRESH_TOKEN] {
            if self.fields.get(name).is_some_and(empty_or_null) {
                self.fields.shift_remove(name);
            }
        }
        if self.fields.contains_key(key::REFRESH_TOKEN) {
            return Ok(self);
        }
        match self.dropped.iter().find(|r| r.field == key::REFRESH_TOKEN) {
            Some(refused) => Err(NoPair::Refused(refused.clone(), raw)),
            None => Err(NoPair::Missing),
        }
    }

    /// Whether a usable access token came with the pair (it may have been left out).
    pub fn has_access_token(&self) -> bool {
        self.fields.contains_key(key::ACCESS_TOKEN)
    }

    /// What the answer held that b24auth did not keep, one line each, to say on stderr once
    /// the pair is saved.
    pub fn left_out(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .dropped
            .iter()
            .map(|refused| {
                format!(
                    "{refused}: left out of the OAuth server's answer; the rotated pair is saved"
                )
            })
            .collect();
        if let Some(why) = &self.only_tokens {
            notes.push(format!(
                "only the tokens of the OAuth server's answer were kept: {why}; the access token counts as expired, so the next command refreshes again"
            ));
        }
        notes
    }

    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }
}

/// Callers that read the answer's fields read the kept ones.
impl std::ops::Deref for TokenAnswer {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        &self.fields
    }
}

impl From<TokenAnswer> for Map<String, Value> {
    fn from(answer: TokenAnswer) -> Map<String, Value> {
        answer.fields
    }
}

fn tokens_of(doc: &Map<String, Value>) -> Map<String, Value> {
    [key::ACCESS_TOKEN, key::REFRESH_TOKEN]
        .into_iter()
        .filter_map(|k| Some((k.to_string(), doc.get(k)?.clone())))
        .collect()
}

fn empty_or_null(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_str().is_some_and(str::is_empty)
}

/// The string values of the top-level `access_token` and `refresh_token` keys of the JSON
/// object in `bytes` (the last one wins, as when the whole answer is read). One pass, no
/// recursion, nothing kept but those values; it stops where the text stops being JSON.
fn top_level_tokens(bytes: &[u8]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return found;
    }
    at += 1;
    loop {
        at = skip_space(bytes, at);
        let Some(key_end) = string_end(bytes, at) else {
            return found;
        };
        let key = decode_string(&bytes[at..key_end]);
        at = skip_space(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return found;
        }
        at = skip_space(bytes, at + 1);
        let Some(value_end) = value_end(bytes, at) else {
            return found;
        };
        if let Some(name) = key.filter(|k| k == key::ACCESS_TOKEN || k == key::REFRESH_TOKEN) {
            if let Some(value) = decode_string(&bytes[at..value_end]) {
                found.retain(|(n, _)| *n != name);
                found.push((name, value));
            }
        }
        at = skip_space(bytes, value_end);
        match bytes.get(at) {
            Some(b',') => at += 1,
            _ => return found,
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|b| b" \t\r\n".contains(b)) {
        at += 1;
    }
    at
}

/// The end (exclusive) of the JSON string starting at `at`.
fn string_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    at += 1;
    loop {
        match bytes.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
}

/// The end (exclusive) of the JSON value starting at `at`: a string, a nested object or array
/// (depth counted, not recursed into), or a number or literal.
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            let (mut depth, mut i) = (0usize, at);
            loop {
                match bytes.get(i)? {
                    b'"' => i = string_end(bytes, i)?,
                    b'{' | b'[' => {
                        depth += 1;
                        i += 1;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => i += 1,
                }
            }
        }
        _ => {
            let len = bytes[at..].iter().position(|b| b",}] \t\r\n".contains(b))?;
            (len > 0).then_some(at + len)
        }
    }
}

/// A JSON string literal's text (escapes decoded), or `None` when it is not one.
fn decode_string(literal: &[u8]) -> Option<String> {
    serde_json::from_slice::<String>(literal).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_offending_field_is_left_out_and_the_tokens_kept() {
        let doc = json!({"access_token":"a1","refresh_token":"r1","scope":"crm\u{1b}[2J",
            "note":"x\ny","client_endpoint":"https://p.example/ rest/","member_id":"m"});
        let answer = TokenAnswer::checked(doc.as_object().unwrap().clone()).unwrap();
        let dropped: Vec<&str> = answer.dropped.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(dropped, ["scope", "note", "client_endpoint"]);
        assert_eq!(answer["refresh_token"], "r1");
        assert_eq!(answer["member_id"], "m");
        assert!(answer.has_access_token());
    }

    #[test]
    fn a_refused_access_token_leaves_the_refresh_token_kept() {
        let doc = json!({"access_token":"a".repeat(3000),"refresh_token":"r1"});
        let answer = TokenAnswer::checked(doc.as_object().unwrap().clone()).unwrap();
        assert!(!answer.has_access_token());
        assert_eq!(answer["refresh_token"], "r1");
        let doc = json!({"access_token":"a1","refresh_token":"r\n1"});
        assert!(matches!(
            TokenAnswer::checked(doc.as_object().unwrap().clone()),
            Err(NoPair::Refused(r, _)) if r.field == "refresh_token"
        ));
        let doc = json!({"access_token":"a1","refresh_token":""});
        assert!(matches!(
            TokenAnswer::checked(doc.as_object().unwrap().clone()),
            Err(NoPair::Missing)
        ));
    }

    #[test]
    fn the_scan_finds_only_top_level_tokens() {
        let deep = "[".repeat(300) + &"]".repeat(300);
        let text = format!(
            r#"{{"deep":{deep},"inner":{{"refresh_token":"fake","s":"}}\"{{"}},"n":-1.5e3,"t":true,
            "access_token":"a\u0031","refresh_token":"r1","pad":"{}"}}"#,
            "x".repeat(70_000)
        );
        let answer = TokenAnswer::scanned(text.as_bytes(), "too big".into())
            .ok()
            .unwrap();
        assert_eq!(answer.len(), 2);
        assert_eq!(answer["access_token"], "a1");
        assert_eq!(answer["refresh_token"], "r1");
        // Cut off after the tokens: they are kept; cut off before the refresh token: nothing.
        let cut = &text.as_bytes()[..text.find("\"pad\"").unwrap() + 8];
        assert!(TokenAnswer::scanned(cut, "cut".into()).is_ok());
        let cut = &text.as_bytes()[..text.find("\"r1\"").unwrap() + 2];
        assert!(TokenAnswer::scanned(cut, "cut".into()).is_err());
        assert!(TokenAnswer::scanned(b"[\"refresh_token\",\"r\"]", "x".into()).is_err());
        assert!(TokenAnswer::scanned(b"{\"access_token\":", "x".into()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn the_scan_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = top_level_tokens(&bytes);
        }
    }
}
