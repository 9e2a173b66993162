/*!
Bitrix24's vocabulary: the error codes its OAuth server and REST answer with, the error answer
itself, and the decisions b24auth takes on each code (authorize again? back off and retry?
refresh and repeat?). Decisions are made on the `error` field, never on the HTTP status, which
the docs leave undefined.
*/

use std::fmt;

use serde_json::{Map, Value};

use crate::ui::hint;
use crate::ui::sanitize::{redact, strip_controls};

/// An `error` code from Bitrix24's JSON, read case-insensitively (b24pysdk upper-cases codes
/// before matching them, b24phpsdk lower-cases them; the server sends either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// The access token (or a late `code`) has expired.
    ExpiredToken,
    InvalidToken,
    NoAuthFound,
    /// "Unable to authorize user": the token's user was deactivated (a dead token).
    AuthorizationError,
    /// The refresh token or code is unknown or used.
    InvalidGrant,
    /// A dead code, as b24phpsdk reads it: the same as `invalid_grant`.
    BadVerificationCode,
    /// The client secret is wrong, or the app was removed ("may not be installed").
    InvalidClient,
    /// The client id is wrong (HTTP 200 at the token endpoint).
    WrongClient,
    InvalidRequest,
    InvalidScope,
    InsufficientScope,
    /// The app is limited to some users and this one is not among them.
    UserAccessError,
    /// REST is not available here (only on commercial plans), or not in this context.
    AccessDenied,
    InvalidCredentials,
    /// The app is not installed on the portal any more (REST's answer for a removed app).
    ErrorOauth,
    ApplicationNotFound,
    NotInstalled,
    /// The portal's subscription ended; on a refresh it can also mean the app was removed.
    PaymentRequired,
    PortalDeleted,
    /// The leaky bucket overflowed (HTTP 503).
    QueryLimitExceeded,
    /// A method used up its processing-time budget.
    OperationTimeLimit,
    /// HTTP 429 from a proxy in front of the portal, with no Bitrix24 JSON (b24auth's name).
    TooManyRequests,
    OverloadLimit,
    Other(String),
}

const NAMES: [(&str, ErrorCode); 23] = [
    ("expired_token", ErrorCode::ExpiredToken),
    ("invalid_token", ErrorCode::InvalidToken),
    ("NO_AUTH_FOUND", ErrorCode::NoAuthFound),
    ("authorization_error", ErrorCode::AuthorizationError),
    ("invalid_grant", ErrorCode::InvalidGrant),
    ("bad_verification_code", ErrorCode::BadVerificationCode),
    ("invalid_client", ErrorCode::InvalidClient),
    ("wrong_client", ErrorCode::WrongClient),
    ("invalid_request", ErrorCode::InvalidRequest),
    ("invalid_scope", ErrorCode::InvalidScope),
    ("insufficient_scope", ErrorCode::InsufficientScope),
    ("user_access_error", ErrorCode::UserAccessError),
    ("ACCESS_DENIED", ErrorCode::AccessDenied),
    ("INVALID_CREDENTIALS", ErrorCode::InvalidCredentials),
    ("ERROR_OAUTH", ErrorCode::ErrorOauth),
    ("APPLICATION_NOT_FOUND", ErrorCode::ApplicationNotFound),
    ("NOT_INSTALLED", ErrorCode::NotInstalled),
    ("PAYMENT_REQUIRED", ErrorCode::PaymentRequired),
    ("PORTAL_DELETED", ErrorCode::PortalDeleted),
    ("QUERY_LIMIT_EXCEEDED", ErrorCode::QueryLimitExceeded),
    ("OPERATION_TIME_LIMIT", ErrorCode::OperationTimeLimit),
    ("HTTP_429", ErrorCode::TooManyRequests),
    ("OVERLOAD_LIMIT", ErrorCode::OverloadLimit),
];

/// What b24auth does about an error answer (see [`ErrorCode::decision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The access token is dead: refresh (single-flight) and repeat once.
    RefreshAndRetry,
    /// Only a new pair helps (exit 3).
    Reauthorize,
    /// The app is gone from the portal: reinstall it, then authorize (exit 3).
    Reinstall,
    /// The client id or secret was refused, or the app was removed (exit 2).
    FixClient,
    /// The portal's rate limits: wait and retry the same call.
    Wait,
    /// The app may not do this: a person must change the app or the plan (exit 1).
    Permission,
    /// Anything else: the call failed (exit 1).
    Fail,
}

impl ErrorCode {
    /// The code for `code` in any case; an unknown one is kept as sent.
    pub fn parse(code: &str) -> ErrorCode {
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(code))
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

    /// The one decision per code: every command's handling of an answer starts here.
    pub fn decision(&self) -> Decision {
        use ErrorCode::*;
        match self {
            ExpiredToken | InvalidToken | NoAuthFound | AuthorizationError => {
                Decision::RefreshAndRetry
            }
            InvalidGrant | BadVerificationCode => Decision::Reauthorize,
            ErrorOauth | ApplicationNotFound | NotInstalled | PaymentRequired | PortalDeleted => {
                Decision::Reinstall
            }
            InvalidClient | WrongClient => Decision::FixClient,
            QueryLimitExceeded | OperationTimeLimit | TooManyRequests => Decision::Wait,
            InsufficientScope | InvalidScope | UserAccessError | AccessDenied
            | InvalidCredentials => Decision::Permission,
            InvalidRequest | OverloadLimit | Other(_) => Decision::Fail,
        }
    }

    /// Only a new authorization helps (exit 3): a dead pair, or an app no longer installed.
    pub fn needs_reauthorization(&self) -> bool {
        matches!(
            self.decision(),
            Decision::RefreshAndRetry | Decision::Reauthorize | Decision::Reinstall
        )
    }

    /// The app is not installed on the portal any more (exit 3, reinstall first).
    pub fn app_removed(&self) -> bool {
        self.decision() == Decision::Reinstall
    }

    /// The client id or secret is wrong (or the app was removed): not a dead pair (exit 2).
    pub fn is_client_refusal(&self) -> bool {
        self.decision() == Decision::FixClient
    }

    /// The portal refused the access token: refresh (single-flight) and repeat the call once.
    pub fn token_refused(&self) -> bool {
        self.decision() == Decision::RefreshAndRetry
    }

    /// A rate limit: wait and retry the same call.
    pub fn is_rate_limit(&self) -> bool {
        self.decision() == Decision::Wait
    }

    /// What a person does about a [`Decision::Permission`] answer.
    pub fn permission_fix(&self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::InsufficientScope | ErrorCode::InvalidScope => {
                "the app lacks the scope this method needs: add it in the app's settings and reinstall the app"
            }
            ErrorCode::UserAccessError => {
                "the app is limited to some users and the authorized user is not one of them: allow the user in the app's settings, or authorize as an allowed user"
            }
            ErrorCode::AccessDenied => {
                "the portal refuses REST here (it is available only on commercial plans, and some methods only in an app's context): check the portal's plan"
            }
            ErrorCode::InvalidCredentials => {
                "the portal refused the request's credentials: authorize again if the problem stays"
            }
            _ => return None,
        })
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

/// Exit 2 for refused client credentials, with both causes and the fix; nothing stored was
/// touched.
pub(crate) fn client_refused(e: &ServerError) -> anyhow::Error {
    ClientRefused(format!(
        "the OAuth server refused the client credentials ({e}): either B24AUTH_CLIENT_ID / B24AUTH_CLIENT_SECRET are wrong (set them to the app's values), or the app was removed from the portal (reinstall it, then {}); the stored pair is unchanged",
        hint::authorize_again("PORTAL", true)
    ))
    .into()
}

/// The OAuth server refused the client credentials (exit 2): its own type, so `show --check`
/// can tell it from other usage errors (for it, a refused refresh is "re-authorize", 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ClientRefused(pub String);

/// Exit 3 for an app that is not installed on `portal` any more, with the reinstall step.
pub(crate) fn app_not_installed(e: &ServerError, portal: &str) -> anyhow::Error {
    crate::exit::auth_needed(format!(
        "the app is not installed on {portal} (removed, or its payment expired) ({e}): reinstall it in the portal, then {}; the stored pair is unchanged",
        hint::authorize_again(portal, true)
    ))
}

/// Exit 1 for an answer only a person can fix (scope, users, plan), with that fix.
pub(crate) fn not_permitted(e: &ServerError) -> anyhow::Error {
    match e.code.permission_fix() {
        Some(fix) => anyhow::anyhow!("{e}: {fix}"),
        None => anyhow::anyhow!("{e}"),
    }
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

    #[test]
    fn case_does_not_matter() {
        for (name, code) in NAMES {
            assert_eq!(ErrorCode::parse(&name.to_ascii_uppercase()), code);
            assert_eq!(ErrorCode::parse(&name.to_ascii_lowercase()), code);
        }
        assert_eq!(ErrorCode::parse("INVALID_GRANT"), ErrorCode::InvalidGrant);
        assert_eq!(ErrorCode::parse("Wrong_Client"), ErrorCode::WrongClient);
    }

    #[test]
    fn removed_apps_and_permissions_are_not_refreshed() {
        for c in [
            "ERROR_OAUTH",
            "APPLICATION_NOT_FOUND",
            "NOT_INSTALLED",
            "PAYMENT_REQUIRED",
            "portal_deleted",
        ] {
            let code = ErrorCode::parse(c);
            assert!(
                code.app_removed() && code.needs_reauthorization() && !code.token_refused(),
                "{c}"
            );
        }
        for c in [
            "insufficient_scope",
            "user_access_error",
            "ACCESS_DENIED",
            "INVALID_CREDENTIALS",
        ] {
            let code = ErrorCode::parse(c);
            assert_eq!(code.decision(), Decision::Permission, "{c}");
            assert!(
                code.permission_fix().is_some() && !code.token_refused(),
                "{c}"
            );
        }
        assert_eq!(
            ErrorCode::parse("bad_verification_code").decision(),
            Decision::Reauthorize
        );
        assert!(ErrorCode::parse("authorization_error").token_refused());
    }
}
