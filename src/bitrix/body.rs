/*!
Reading an HTTP answer into memory with a size limit: a server (or whoever answers in its place)
cannot make b24auth hold more than the limit, whether it declares the size or streams forever.
The whole exchange, body included, is bounded by the client's `--http-timeout`.
*/

use anyhow::{anyhow, Result};

use crate::bitrix::errors::NoAnswer;

/// The token endpoint's and `app.info`'s answers: a few hundred bytes in practice.
pub const TOKEN_LIMIT: usize = 64 * 1024;
/// A REST answer (a page of a list, a `batch` of 50): bounded so a runaway answer cannot take
/// all memory.
pub const REST_LIMIT: usize = 64 * 1024 * 1024;

/// Reads `response`'s body, failing as soon as it is known to exceed `limit` bytes.
pub async fn read_limited(
    response: reqwest::Response,
    limit: usize,
    from: &str,
) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large(from, limit));
    }
    match read_at_most(response, limit, from).await? {
        (_, true) => Err(too_large(from, limit)),
        (body, false) => Ok(body),
    }
}

/// Reads at most `limit` bytes of `response`'s body; true when there was more (the rest is
/// not read: the connection is dropped).
pub(crate) async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
    from: &str,
) -> Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| NoAnswer(format!("{from} broke off its answer: {}", describe(e))))?
    {
        if body.len() + chunk.len() > limit {
            body.extend_from_slice(&chunk[..limit - body.len()]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

pub(crate) fn too_large(from: &str, limit: usize) -> anyhow::Error {
    anyhow!(
        "{from} answered more than {} (b24auth's limit for this answer); nothing was used",
        human_bytes(limit)
    )
}

pub(crate) fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A reqwest error with its causes on one line, and never its URL (only its host, when the
/// host's certificate was not trusted: the message then says how to trust a company CA).
pub(crate) fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time (timed out)".into();
    }
    let host = e.url().and_then(|u| u.host_str()).unwrap_or("the server");
    if let Some(hint) = crate::bitrix::http::untrusted_certificate(&e, host) {
        return hint;
    }
    if e.is_connect() {
        // The innermost cause says it ("Connection refused"); the layers above it only repeat
        // that a request was being sent.
        let mut last: &(dyn std::error::Error + 'static) = &e;
        while let Some(inner) = last.source() {
            last = inner;
        }
        return last.to_string().replace('\n', " ");
    }
    crate::exit::one_line(&e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(human_bytes(TOKEN_LIMIT), "64 KiB");
        assert_eq!(human_bytes(REST_LIMIT), "64 MiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}
