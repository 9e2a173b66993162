/*!
Bitrix24's vocabulary: the error codes its OAuth server and REST answer with, the error answer
itself, and the decisions b24auth takes on each code (authorize again? back off and retry?
refresh and repeat?). Decisions are made on the `error` field, never on the HTTP status, which
the docs leave undefined.
*/

use std::fmt;

use serde_json::{Map, Value};

use crate::ui::sanitize::{redact, strip_controls};

/// An `error` code from Bitrix24's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// The access token (or a late `code`) has expired.
    ExpiredToken,
    InvalidToken,
    NoAuthFound,
    /// The refresh token or code is unknown or used.
    InvalidGrant,
    /// The client id/secret is wrong, or the app was removed.
    InvalidClient,
    WrongClient,
    AuthorizationError,
    InvalidRequest,
    InvalidScope,
    InsufficientScope,
    /// The leaky bucket overflowed (HTTP 503).
    QueryLimitExceeded,
    /// A method used up its processing-time budget.
    OperationTimeLimit,
    /// HTTP 429 from a proxy in front of the portal, with no Bitrix24 JSON (b24auth's name).
    TooManyRequests,
    OverloadLimit,
    PaymentRequired,
    Other(String),
}

const NAMES: [(&str, ErrorCode); 15] = [
    ("expired_token", ErrorCode::ExpiredToken),
    ("invalid_token", ErrorCode::InvalidToken),
    ("NO_AUTH_FOUND", ErrorCode::NoAuthFound),
    ("invalid_grant", ErrorCode::InvalidGrant),
    ("invalid_client", ErrorCode::InvalidClient),
    ("wrong_client", ErrorCode::WrongClient),
    ("authorization_error", ErrorCode::AuthorizationError),
    ("invalid_request", ErrorCode::InvalidRequest),
    ("invalid_scope", ErrorCode::InvalidScope),
    ("insufficient_scope", ErrorCode::InsufficientScope),
    ("QUERY_LIMIT_EXCEEDED", ErrorCode::QueryLimitExceeded),
    ("OPERATION_TIME_LIMIT", ErrorCode::OperationTimeLimit),
    ("HTTP_429", ErrorCode::TooManyRequests),
    ("OVERLOAD_LIMIT", ErrorCode::OverloadLimit),
    ("PAYMENT_REQUIRED", ErrorCode::PaymentRequired),
];

impl ErrorCode {
    pub fn parse(code: &str) -> ErrorCode {
        NAMES
            .iter()
            .find(|(name, _)| *name == code)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| ErrorCode::Other(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(s) => s,
            known => NAMES
                .iter()
                .find(|(_, c)| c == known)
                .map(|(name, _)| *name)
                .expect("every known code has a name"),
        }
    }

    /// Only a new authorization helps (exit 3).
    pub fn needs_reauthorization(&self) -> bool {
        matches!(
            self,
            ErrorCode::InvalidGrant
                | ErrorCode::ExpiredToken
                | ErrorCode::InvalidToken
                | ErrorCode::NoAuthFound
                | ErrorCode::AuthorizationError
        )
    }

    /// The client id or secret is wrong (or the app was removed): not a dead pair (exit 2).
    pub fn is_client_refusal(&self) -> bool {
        matches!(self, ErrorCode::InvalidClient | ErrorCode::WrongClient)
    }

    /// The portal refused the access token: refresh (single-flight) and repeat the call once.
    pub fn token_refused(&self) -> bool {
        matches!(
            self,
            ErrorCode::ExpiredToken | ErrorCode::InvalidToken | ErrorCode::NoAuthFound
        )
    }

    /// A rate limit: wait and retry the same call.
    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            ErrorCode::QueryLimitExceeded
                | ErrorCode::OperationTimeLimit
                | ErrorCode::TooManyRequests
        )
    }
}

impl ErrorCode {
    /// The server declined to decide now: try the same request again later.
    pub fn is_not_now(&self) -> bool {
        self.is_rate_limit()
            || matches!(self, ErrorCode::OverloadLimit)
            || matches!(self, ErrorCode::Other(code) if code == "INTERNAL_SERVER_ERROR")
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Exit 2 for refused client credentials, with the fix; nothing stored was touched.
pub(crate) fn client_refused(e: &ServerError) -> anyhow::Error {
    crate::exit::usage(format!(
        "the OAuth server refused the client credentials ({e}): check B24AUTH_CLIENT_ID / B24AUTH_CLIENT_SECRET; the stored pair is unchanged"
    ))
}

/// No answer b24auth can take as the server's word: it was not reached (a connect error, no
/// descriptor left, a timeout), broke off, or answered with something that is not Bitrix24's
/// JSON (a proxy's 502 page). The request may be repeated; nothing was decided about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NoAnswer(pub String);

/// True when `e` holds no verdict of the server on what was sent: [`NoAnswer`], or an error
/// that only says "not now" (a rate limit, an overload, the server's own internal error).
/// Such a failure is b24auth's or the network's, never proof that a token is forged.
pub(crate) fn no_verdict(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<NoAnswer>()
            || cause
                .downcast_ref::<ServerError>()
                .is_some_and(|s| s.code.is_not_now())
    })
}

/// An error answer from Bitrix24: `{"error": …, "error_description": …}`.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub(crate) struct ServerError {
    pub code: ErrorCode,
    pub description: String,
}

impl ServerError {
    /// The error in a Bitrix24 JSON answer, its text without control characters (a server
    /// does not get to move the cursor or recolour the terminal).
    pub fn from_json(v: &Map<String, Value>) -> Option<ServerError> {
        let code = ErrorCode::parse(&strip_controls(v.get("error")?.as_str()?));
        let description = strip_controls(
            v.get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("no description"),
        );
        Some(ServerError { code, description })
    }

    /// The same error with every value of `sent` (what b24auth sent: secrets, tokens, codes)
    /// replaced by `…`, for a server that echoes the request in its error text.
    pub fn redacted(self, sent: &[&str]) -> ServerError {
        let code = match self.code {
            ErrorCode::Other(text) => ErrorCode::Other(redact(&text, sent)),
            known => known,
        };
        ServerError {
            code,
            description: redact(&self.description, sent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_decide() {
        for (name, code) in NAMES {
            assert_eq!(ErrorCode::parse(name), code);
            assert_eq!(code.as_str(), name);
        }
        assert_eq!(ErrorCode::parse("NEW_ONE").as_str(), "NEW_ONE");
        assert!(ErrorCode::parse("invalid_grant").needs_reauthorization());
        assert!(!ErrorCode::parse("wrong_client").needs_reauthorization());
        assert!(ErrorCode::parse("wrong_client").is_client_refusal());
        assert!(!ErrorCode::parse("QUERY_LIMIT_EXCEEDED").needs_reauthorization());
        assert!(ErrorCode::parse("QUERY_LIMIT_EXCEEDED").is_rate_limit());
        assert!(ErrorCode::parse("OPERATION_TIME_LIMIT").is_rate_limit());
        assert!(ErrorCode::parse("HTTP_429").is_rate_limit());
        assert!(!ErrorCode::parse("ERROR_CORE").is_rate_limit());
        assert!(ErrorCode::parse("NO_AUTH_FOUND").token_refused());
        assert!(!ErrorCode::parse("invalid_grant").token_refused());
        assert!(ErrorCode::parse("OVERLOAD_LIMIT").is_not_now());
        assert!(ErrorCode::parse("INTERNAL_SERVER_ERROR").is_not_now());
        assert!(!ErrorCode::parse("invalid_token").is_not_now());
    }

    #[test]
    fn only_an_answer_about_the_request_is_a_verdict() {
        let refused = ServerError {
            code: ErrorCode::InvalidToken,
            description: "bad".into(),
        };
        assert!(!no_verdict(&anyhow::Error::new(refused)));
        let busy = ServerError {
            code: ErrorCode::QueryLimitExceeded,
            description: "later".into(),
        };
        assert!(no_verdict(&anyhow::Error::new(busy)));
        let unreachable = anyhow::Error::new(NoAnswer("cannot reach x".into()));
        assert!(no_verdict(&unreachable.context("verifying")));
        assert!(!no_verdict(&anyhow::anyhow!(
            "the callback's member_id differs"
        )));
    }
}
