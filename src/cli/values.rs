/*!
The values options take, each checked by its own parser (clap's `value_parser`): profile names,
REST method names, counts, rates, paths, URLs and durations. A refused value is a usage error
naming what was wrong.
*/

use std::time::Duration;

use url::Url;

use crate::secret::Secret;

pub(crate) fn profile_name(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        // A leading dot would be a hidden file that `list` does not show.
        && !s.starts_with('.');
    if ok {
        Ok(s.to_string())
    } else {
        Err("a profile name is 1–64 of A-Za-z0-9._-, not starting with a dot".into())
    }
}

pub(crate) fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

pub(crate) fn rest_method(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._".contains(&b))
        && !s.starts_with('.');
    if ok {
        Ok(s.to_string())
    } else {
        Err("a method name is made of A-Za-z0-9._, e.g. crm.deal.list".into())
    }
}

/// `--concurrency`: 1 to 64 requests in flight (more than the portal's burst cannot all go).
pub(crate) fn concurrency(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number of requests from 1 to 64")),
    }
}

/// `--rate`: `2/s`, `0.5/s` or a bare number.
pub(crate) fn rate(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| format!("`{s}` is not a rate like 2/s"))?;
    // Bounded so the pause between requests (1/rate) is a duration the clock can hold.
    if (0.001..=1_000_000.0).contains(&n) {
        Ok(n)
    } else {
        Err("the rate must be between 0.001/s and 1000000/s".into())
    }
}

pub(crate) fn url_path(s: &str) -> Result<String, String> {
    let ok = s.starts_with('/')
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err("a path starts with / and holds only A-Za-z0-9/-._~".into())
    }
}

pub(crate) fn http_url(s: &str) -> Result<Url, String> {
    let url = match Url::parse(s) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(format!("add https:// in front: https://{s}"))
        }
        Err(e) => return Err(format!("not a URL ({e})")),
    };
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("expected an http:// or https:// URL".into()),
    }
}

/// The longest duration any option takes (a deadline beyond it would overflow the clock).
const MAX_DAYS: u64 = 3650;

/// `90`, `90s`, `1500ms`, `10m`, `2h`, `180d`, `1h 30m` (humantime's units); `0` means none
/// where an option allows it.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    use humantime::DurationError;
    let s = s.trim();
    let too_long = || format!("`{s}` is too long: at most {MAX_DAYS}d");
    // A bare number counts seconds, as `timeout 90` does; humantime wants a unit.
    let parsed = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse()
            .map(Duration::from_secs)
            .map_err(|_| DurationError::NumberOverflow)
    } else {
        humantime::parse_duration(s)
    };
    let d = parsed.map_err(|e| match e {
        DurationError::NumberOverflow => too_long(),
        DurationError::UnknownUnit { .. } => {
            format!("`{s}` has an unknown unit; use ms, s, m, h or d")
        }
        _ => format!("`{s}` is not a duration like 30s, 10m, 2h or 7d"),
    })?;
    if d > Duration::from_secs(MAX_DAYS * 86_400) {
        return Err(too_long());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(duration("10x").is_err());
        assert!(duration("m").is_err());
        assert!(duration("18446744073709551615s").is_err());
        assert!(duration("18446744073709551615d").is_err());
        assert!(duration("3651d").is_err());
        assert_eq!(duration("3650d"), Ok(Duration::from_secs(3650 * 86400)));
        assert_eq!(duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration(" 30s "), Ok(Duration::from_secs(30)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        let said = |s| duration(s).unwrap_err();
        assert!(said("10x").contains("unknown unit"), "{}", said("10x"));
        assert!(said("m").contains("not a duration"), "{}", said("m"));
        assert!(said("").contains("not a duration"), "{}", said(""));
        assert!(said("99999999999999999999").contains("too long"));
        assert!(said("18446744073709551615d").contains("too long"));
        assert!(said("3651d").contains("at most 3650d"), "{}", said("3651d"));
    }

    #[test]
    fn profile_names() {
        assert!(profile_name("prod-1.b_2").is_ok());
        assert!(profile_name("../etc").is_err());
        assert!(profile_name("..").is_err());
        assert!(profile_name("").is_err());
        assert!(profile_name(&"a".repeat(65)).is_err());
    }
}
