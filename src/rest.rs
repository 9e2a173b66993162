/*!
Calling Bitrix24 REST methods with a stored authorization, the way Bitrix24 asks for it:
POST JSON to `{client_endpoint}METHOD` with `auth` in the body; on `expired_token` refresh
(single-flight, through the store) and repeat once; on `QUERY_LIMIT_EXCEEDED` back off and
retry; on a renamed portal's 302 repeat the same POST at the new address and remember it.
Also the PHP-bracket `KEY=VALUE` pairs that build a request body.
*/

use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};
use url::Url;

use crate::commands::refresh::refresh_profile;
use crate::context::Context;
use crate::exit;
use crate::oauth::{describe, http_client, ServerError};
use crate::profile::{host_port, now, Profile};
use crate::store::Store;

/// Retries of one request that meets `QUERY_LIMIT_EXCEEDED`, backing off from 500 ms.
const LIMIT_RETRIES: u32 = 5;

/// A client-side leaky bucket: `burst` requests at once, then `rate` per second.
pub struct Bucket {
    rate: f64,
    burst: f64,
    level: f64,
    last: tokio::time::Instant,
}

impl Bucket {
    pub fn new(rate: f64, burst: u32) -> Bucket {
        Bucket {
            rate,
            burst: f64::from(burst),
            level: 0.0,
            last: tokio::time::Instant::now(),
        }
    }

    /// Waits until one more request fits.
    pub async fn admit(&mut self) {
        let t = tokio::time::Instant::now();
        self.level = (self.level - t.duration_since(self.last).as_secs_f64() * self.rate).max(0.0);
        self.last = t;
        if self.level + 1.0 > self.burst {
            let wait = (self.level + 1.0 - self.burst) / self.rate;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.level -= wait * self.rate;
            self.last = tokio::time::Instant::now();
        }
        self.level += 1.0;
    }
}

/// What one POST came back with.
enum Answer {
    /// A redirect: the URL that was called and the `Location`.
    Moved(Url, Option<String>),
    Json(Map<String, Value>),
}

/// One authorized caller: the current profile, the HTTP client and the rate limit.
pub struct Caller<'a> {
    ctx: &'a Context,
    store: &'a Store,
    http: reqwest::Client,
    profile: Profile,
    bucket: Bucket,
}

impl<'a> Caller<'a> {
    /// Loads the profile, refreshing first when the token has expired.
    pub async fn new(ctx: &'a Context, store: &'a Store, bucket: Bucket) -> Result<Caller<'a>> {
        let profile = refresh_profile(ctx, store, |p| !p.is_fresh(0, now()))
            .await?
            .profile;
        // A REST method may run up to 60 s on the portal's side.
        let http = http_client(ctx.http_timeout.max(Duration::from_secs(60)))?;
        Ok(Caller {
            ctx,
            store,
            http,
            profile,
            bucket,
        })
    }

    /// Calls `method` with `params` (without `auth`) and returns the whole response object,
    /// following Bitrix24's recipe for expired tokens, rate limits and renamed portals.
    pub async fn call(
        &mut self,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let (mut refreshed, mut moved, mut limited) = (false, false, 0);
        loop {
            let err = match self.post(method, params).await? {
                Answer::Moved(from, location) if !moved => {
                    self.follow_rename(&from, method, location.as_deref())
                        .await?;
                    moved = true;
                    continue;
                }
                Answer::Moved(..) => return Err(anyhow!("{method}: the portal redirected twice")),
                Answer::Json(object) => {
                    match ServerError::from_json(&Value::Object(object.clone())) {
                        None => return Ok(object),
                        Some(err) => err,
                    }
                }
            };
            match err.error.as_str() {
                "expired_token" | "invalid_token" | "NO_AUTH_FOUND" if !refreshed => {
                    crate::log::note(format_args!(
                        "{method}: {}; refreshing, then retrying once",
                        err.error
                    ));
                    self.renew(&err).await?;
                    refreshed = true;
                }
                "QUERY_LIMIT_EXCEEDED" if limited < LIMIT_RETRIES => {
                    let wait = Duration::from_millis(500 << limited);
                    if wait > Duration::from_secs(1) {
                        self.ctx.ui.info(format_args!(
                            "{method}: the portal's rate limit (QUERY_LIMIT_EXCEEDED); waiting {} before retry {} of {LIMIT_RETRIES}",
                            crate::ui::human_duration(wait.as_secs() as i64),
                            limited + 1
                        ));
                    }
                    crate::log::note(format_args!("{method}: QUERY_LIMIT_EXCEEDED; backing off {} ms, retry {} of {LIMIT_RETRIES}", wait.as_millis(), limited + 1));
                    tokio::time::sleep(wait).await;
                    limited += 1;
                }
                "invalid_token" | "NO_AUTH_FOUND" | "expired_token" => return Err(rejected(&err)),
                _ => return Err(anyhow!("{}: {}", err.error, err.description)),
            }
        }
    }

    /// One POST of `method` with the current token, under the rate limit.
    async fn post(&mut self, method: &str, params: &Map<String, Value>) -> Result<Answer> {
        let endpoint = self
            .profile
            .str("client_endpoint")
            .ok_or_else(|| anyhow!("the profile has no client_endpoint"))?;
        let url = Url::parse(endpoint)
            .and_then(|u| u.join(method))
            .map_err(|e| anyhow!("bad client_endpoint or method ({e})"))?;
        let mut body = params.clone();
        body.insert("auth".into(), self.profile.access_token().expose().into());
        self.bucket.admit().await;
        let started = std::time::Instant::now();
        let response = self
            .http
            .post(url.clone())
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "cannot reach {}: {}",
                    url.origin().ascii_serialization(),
                    describe(e)
                )
            })
            .inspect_err(|e| crate::log::failed("POST", &url, &e.to_string(), started))?;
        let status = response.status();
        if status.is_redirection() {
            crate::log::exchange("POST", &url, status.as_u16(), 0, started);
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok());
            return Ok(Answer::Moved(url.clone(), location.map(String::from)));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| anyhow!("the portal broke off its answer: {}", describe(e)))?;
        crate::log::exchange("POST", &url, status.as_u16(), bytes.len(), started);
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(object)) => Ok(Answer::Json(object)),
            Ok(_) => Err(anyhow!(
                "{method}: the portal answered JSON that is not an object"
            )),
            Err(_) => Err(anyhow!(
                "{method}: the portal answered HTTP {status} with a body that is not JSON"
            )),
        }
    }

    /// After the portal refused the token: refresh when the token that failed is still the
    /// stored one; when another process rotated the pair meanwhile (which also kills our
    /// token), the re-read under the lock hands us theirs instead.
    async fn renew(&mut self, err: &ServerError) -> Result<()> {
        let used = self.profile.access_token();
        let current = refresh_profile(self.ctx, self.store, |p| p.access_token() == used)
            .await?
            .profile;
        if current.access_token() == used {
            return Err(rejected(err));
        }
        self.profile = current;
        Ok(())
    }

    /// A renamed portal answers 302 with its new address: accept it when it keeps the scheme and
    /// is a Bitrix24 cloud host or the same host, then store the new `client_endpoint`.
    async fn follow_rename(
        &mut self,
        old: &Url,
        method: &str,
        location: Option<&str>,
    ) -> Result<()> {
        let new = location
            .and_then(|l| old.join(l).ok())
            .ok_or_else(|| anyhow!("{method}: the portal redirected without a usable Location"))?;
        let trusted = new.scheme() == old.scheme()
            && (is_bitrix24_cloud(new.host_str().unwrap_or(""))
                || new.host_str() == old.host_str());
        if !trusted {
            return Err(anyhow!("{method}: the portal redirected to {}, which is not a Bitrix24 portal; not following", new.origin().ascii_serialization()));
        }
        let endpoint = new
            .as_str()
            .strip_suffix(method)
            .unwrap_or(new.as_str())
            .to_string();
        let updated = self
            .store
            .refresh_if(
                &self.ctx.profile,
                |_| true,
                |mut p| {
                    let endpoint = endpoint.clone();
                    async move {
                        p.set_str("client_endpoint", &endpoint);
                        Ok(p)
                    }
                },
            )
            .await?;
        self.profile = updated.profile;
        self.ctx.ui.info(format_args!(
            "the portal moved to {}: saved the new client_endpoint {endpoint}",
            host_port(&new).unwrap_or_default()
        ));
        Ok(())
    }
}

fn rejected(err: &ServerError) -> anyhow::Error {
    exit::auth_needed(format!(
        "{}: {}: the portal refused the stored token; run {} or {} again",
        err.error,
        err.description,
        crate::hint::cmd("authorize --domain PORTAL --force"),
        crate::hint::cmd("install-listen --force")
    ))
}

/// Bitrix24's cloud zones: a renamed cloud portal stays under one of them.
const CLOUD_ZONES: [&str; 22] = [
    "com", "ru", "de", "eu", "es", "fr", "it", "pl", "uk", "by", "kz", "ua", "in", "jp", "cn",
    "tr", "id", "vn", "com.br", "co", "mx", "site",
];

fn is_bitrix24_cloud(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    CLOUD_ZONES.iter().any(|zone| {
        host.strip_suffix(&format!(".bitrix24.{zone}"))
            .is_some_and(|name| !name.is_empty() && !name.contains('.'))
    })
}

/// The items of a list method's page: `result` itself, or the one array inside it
/// (`{"result":{"items":[…]}}`, `{"result":{"tasks":[…]}}`).
pub fn page_items(response: &Map<String, Value>) -> Vec<Value> {
    match response.get("result") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(o)) => {
            let arrays: Vec<&Vec<Value>> = o.values().filter_map(Value::as_array).collect();
            match arrays.as_slice() {
                [one] => (*one).clone(),
                _ => vec![Value::Object(o.clone())],
            }
        }
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

/// Builds a JSON object from `KEY=VALUE` (a string) and `KEY:=JSON` (a raw value) pairs, with
/// PHP bracket keys for nesting: `filter[STAGE_ID]=WON`, `select[]=ID`, `a[b][c]:=1`.
pub fn pairs_to_json(pairs: &[String]) -> Result<Map<String, Value>> {
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
                crate::exit::code_of(&err),
                crate::exit::ExitCode::Usage,
                "{bad:?}"
            );
        }
    }

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
    fn cloud_hosts() {
        assert!(is_bitrix24_cloud("new-name.bitrix24.com"));
        assert!(is_bitrix24_cloud("b24-x.bitrix24.by"));
        assert!(is_bitrix24_cloud("x.bitrix24.com.br"));
        assert!(!is_bitrix24_cloud("bitrix24.com.evil.example"));
        assert!(!is_bitrix24_cloud("x.bitrix24.evil.example"));
        assert!(!is_bitrix24_cloud("a.b.bitrix24.com"));
        assert!(!is_bitrix24_cloud("evil.example"));
    }
}
