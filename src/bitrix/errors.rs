/*!
Bitrix24's vocabulary: the error codes its OAuth server and REST answer with, the error answer
itself, and the one decision b24auth takes on each code ([`RULES`]): refresh or not, the exit
code, and the one next step in plain words. Decisions are made on the `error` field (and, for
`ACCESS_DENIED` and `INVALID_REQUEST`, its text), never on the HTTP status, which the docs leave
undefined. `docs/bitrix24-answers.md` prints the same table with each code's source.
*/

use std::fmt;

use serde_json::{Map, Value};

use crate::exit::ExitCode;
use crate::profile::Profile;
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
    /// "Unable to authorize user": the token's user was deactivated.
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
    /// Several causes, told apart by the text ([`access_denied_fix`]).
    AccessDenied,
    InvalidCredentials,
    /// The app is not installed on the portal any more (REST's answer for a removed app).
    ErrorOauth,
    ApplicationNotFound,
    NotInstalled,
    /// The app's trial or paid period ended.
    PaymentRequired,
    /// The portal's public part is closed (`site_stopped`).
    PortalDeleted,
    /// The portal could not reach its OAuth server to check the token.
    ConnectionError,
    /// "License check failed."
    VerificationNeeded,
    MethodConfirmWaiting,
    MethodConfirmDenied,
    WrongAuthType,
    AllowedOnlyIntranetUser,
    AccessError,
    BatchMethodNotAllowed,
    BatchLengthExceeded,
    ErrorArgument,
    InvalidArgValue,
    InternalServerError,
    UnexpectedAnswer,
    /// The leaky bucket overflowed (HTTP 503).
    QueryLimitExceeded,
    /// A method used up its processing-time budget.
    OperationTimeLimit,
    /// HTTP 429 from a proxy in front of the portal, with no Bitrix24 JSON (b24auth's name).
    TooManyRequests,
    /// REST blocked by hand for load.
    OverloadLimit,
    Other(String),
}

/// What b24auth does about an error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The access token is dead: refresh (single-flight) and repeat once; exit 3 if that fails.
    RefreshAndRetry,
    /// Only a new pair helps (exit 3).
    Reauthorize,
    /// The app is gone from the portal: reinstall it, then authorize (exit 3).
    Reinstall,
    /// The client id or secret was refused, or the app was removed (exit 2).
    FixClient,
    /// The portal's rate limits: wait and retry the same call, bounded (then exit 1).
    Wait,
    /// The portal or its OAuth server cannot answer now: exit 1, try again later. Says nothing
    /// about the token (never a verdict on it).
    TryLater,
    /// A person must act (pay, approve, grant a scope or a right, change the plan): exit 1.
    Permission,
    /// The call itself is wrong, or the code is unknown: exit 1.
    Fail,
}

/// Whether a refresh may cure an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// No: the pair stays as it is.
    No,
    /// Yes: refresh, then repeat the call once.
    Yes,
    /// One refresh at most; the same answer after it is final.
    AtMostOnce,
}

/// One row of the decision table.
// `status`, `meaning` and `source` are documentation: the test that keeps
// `docs/bitrix24-answers.md` equal to this table is what reads them.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Rule {
    pub name: &'static str,
    pub code: ErrorCode,
    /// The HTTP status(es) the record shows it with (documentation only: never decided on).
    pub status: &'static str,
    pub meaning: &'static str,
    pub refresh: Refresh,
    pub decision: Decision,
    /// The one next step, in plain words (the hint commands are added where they apply).
    pub next: &'static str,
    pub source: &'static str,
}

const TRY_LATER_READ: &str = "the portal failed on its side: run it again later (a read is safe to repeat; check whether a write took effect before repeating it)";

/// The decision table: one row per code, in the order `docs/bitrix24-answers.md` shows them.
#[rustfmt::skip]
pub(crate) const RULES: [Rule; 36] = [
    Rule { name: "expired_token", code: ErrorCode::ExpiredToken, status: "401", meaning: "the access token's hour is over", refresh: Refresh::Yes, decision: Decision::RefreshAndRetry, next: "authorize again", source: "b24pysdk `BitrixAPIExpiredToken`; b24restdocs `settings/oauth/index.md`" },
    Rule { name: "invalid_token", code: ErrorCode::InvalidToken, status: "401", meaning: "not a token the portal knows", refresh: Refresh::AtMostOnce, decision: Decision::RefreshAndRetry, next: "reinstall the app if it stays (CRest's advice), then authorize again", source: "b24pysdk `BitrixAPIInvalidToken`" },
    Rule { name: "NO_AUTH_FOUND", code: ErrorCode::NoAuthFound, status: "401", meaning: "no authorization recognised in the request at all", refresh: Refresh::No, decision: Decision::Reauthorize, next: "the portal recognised no authorization in the request (a refresh does not change that): check that `client_endpoint` is this portal's REST address, then authorize again", source: "rest module `rest_util.php` `checkAuth`; b24pysdk `BitrixAPINoAuthFound`" },
    Rule { name: "authorization_error", code: ErrorCode::AuthorizationError, status: "401", meaning: "the user behind the token is deactivated", refresh: Refresh::No, decision: Decision::Reauthorize, next: "the user behind this authorization is deactivated on the portal (a refresh does not change that): authorize again as an active user", source: "rest module `lib/oauth/auth.php`; b24pysdk `BitrixAPIAuthorizationError`" },
    Rule { name: "invalid_grant", code: ErrorCode::InvalidGrant, status: "400", meaning: "the refresh token or code is dead or used", refresh: Refresh::No, decision: Decision::Reauthorize, next: "authorize again", source: "b24pysdk `test_errors_oauth.py`" },
    Rule { name: "bad_verification_code", code: ErrorCode::BadVerificationCode, status: "400", meaning: "a dead code (as `invalid_grant`)", refresh: Refresh::No, decision: Decision::Reauthorize, next: "authorize again", source: "b24phpsdk `ApiLevelErrorHandler::handleOAuthError`" },
    Rule { name: "invalid_client", code: ErrorCode::InvalidClient, status: "400 (401)", meaning: "wrong client secret, or the app may not be installed", refresh: Refresh::No, decision: Decision::FixClient, next: "set the app's client id and secret, or reinstall a removed app", source: "b24pysdk `test_errors_oauth.py`; b24restdocs `error-codes.md`" },
    Rule { name: "wrong_client", code: ErrorCode::WrongClient, status: "200", meaning: "wrong client id", refresh: Refresh::No, decision: Decision::FixClient, next: "set the app's client id and secret, or reinstall a removed app", source: "b24pysdk `BitrixOauthWrongClient`" },
    Rule { name: "ERROR_OAUTH", code: ErrorCode::ErrorOauth, status: "401", meaning: "the app's row is missing or inactive: removed", refresh: Refresh::No, decision: Decision::Reinstall, next: "reinstall the app in the portal, then authorize", source: "rest module `lib/oauth/auth.php`; b24pysdk `BitrixAPIErrorOAuth`" },
    Rule { name: "APPLICATION_NOT_FOUND", code: ErrorCode::ApplicationNotFound, status: "401", meaning: "the app was deleted from the portal", refresh: Refresh::No, decision: Decision::Reinstall, next: "reinstall the app in the portal, then authorize", source: "rest module `lib/oauth/auth.php`; b24pysdk `BitrixAPIApplicationNotFound`" },
    Rule { name: "NOT_INSTALLED", code: ErrorCode::NotInstalled, status: "401", meaning: "the app is not installed", refresh: Refresh::No, decision: Decision::Reinstall, next: "reinstall the app in the portal, then authorize", source: "b24pysdk `BitrixOAuthNotInstalled`" },
    Rule { name: "PAYMENT_REQUIRED", code: ErrorCode::PaymentRequired, status: "402 / 401", meaning: "the app's trial or paid period ended", refresh: Refresh::No, decision: Decision::Permission, next: "the app's trial or paid period on the portal has ended: renew its payment (a portal administrator does it in the app's Market page); re-authorizing does not help (if the app was removed instead, reinstall it)", source: "b24restdocs `settings/oauth/error-codes.md`, `auto-renewal.md`; b24pysdk `BitrixAPIPaymentRequired`" },
    Rule { name: "PORTAL_DELETED", code: ErrorCode::PortalDeleted, status: "403 (410, 500 in the docs)", meaning: "the portal's public part is closed (`site_stopped`)", refresh: Refresh::No, decision: Decision::TryLater, next: "the portal is closed for now: wait for it to reopen, then run the command again; the stored pair stays as it is and nothing needs re-authorizing", source: "rest module `classes/general/rest.php` `checkSite`; b24pysdk `BitrixAPIPortalDeleted`" },
    Rule { name: "CONNECTION_ERROR", code: ErrorCode::ConnectionError, status: "401", meaning: "the portal cannot reach its OAuth server", refresh: Refresh::No, decision: Decision::TryLater, next: "the portal could not reach its OAuth server to check the token: the network between the portal and its OAuth server failed; try again later (an on-premise portal's administrator checks its outgoing access to oauth.bitrix.info / oauth.bitrix24.tech)", source: "rest module `lib/oauth/auth.php`" },
    Rule { name: "verification_needed", code: ErrorCode::VerificationNeeded, status: "401", meaning: "\"License check failed.\"", refresh: Refresh::No, decision: Decision::TryLater, next: "the portal could not check its licence: try again later; if it stays, the portal's administrator checks its licence", source: "rest module `lib/oauth/auth.php`" },
    Rule { name: "METHOD_CONFIRM_WAITING", code: ErrorCode::MethodConfirmWaiting, status: "401", meaning: "the method waits for an administrator's approval", refresh: Refresh::No, decision: Decision::Permission, next: "this method needs a portal administrator's approval for the app, not given yet: ask an administrator to approve it (the portal notified them), then run the command again", source: "rest module `classes/general/rest.php` `requestConfirmation`; b24pysdk `BitrixAPIMethodConfirmWaiting`" },
    Rule { name: "METHOD_CONFIRM_DENIED", code: ErrorCode::MethodConfirmDenied, status: "403", meaning: "an administrator refused the method", refresh: Refresh::No, decision: Decision::Permission, next: "a portal administrator refused this method for the app: ask an administrator to approve it", source: "rest module `classes/general/rest.php` `requestConfirmation`; b24pysdk `BitrixAPIMethodConfirmDenied`" },
    Rule { name: "insufficient_scope", code: ErrorCode::InsufficientScope, status: "401 (403 in the docs)", meaning: "the app lacks the method's scope", refresh: Refresh::No, decision: Decision::Permission, next: "the app lacks the scope this method needs: add it in the app's settings and reinstall the app", source: "b24pysdk `BitrixAPIInsufficientScope`" },
    Rule { name: "invalid_scope", code: ErrorCode::InvalidScope, status: "403", meaning: "the scope exceeds the grant", refresh: Refresh::No, decision: Decision::Permission, next: "the app lacks the scope this method needs: add it in the app's settings and reinstall the app", source: "b24pysdk `BitrixOAuthInvalidScope`" },
    Rule { name: "user_access_error", code: ErrorCode::UserAccessError, status: "403", meaning: "the app is limited to some users", refresh: Refresh::No, decision: Decision::Permission, next: "the app is limited to some users and the authorized user is not one of them: allow the user in the app's settings, or authorize as an allowed user", source: "b24pysdk `BitrixAPIUserAccessError`" },
    Rule { name: "INVALID_CREDENTIALS", code: ErrorCode::InvalidCredentials, status: "401 (403 in the docs)", meaning: "the request's credentials were refused", refresh: Refresh::No, decision: Decision::Permission, next: "the portal refused the request's credentials: for a webhook, check its URL and rights (`import --webhook` again); else authorize again", source: "b24pysdk `BitrixAPIInvalidCredentials`" },
    Rule { name: "WRONG_AUTH_TYPE", code: ErrorCode::WrongAuthType, status: "403", meaning: "this kind of authorization may not call the method", refresh: Refresh::No, decision: Decision::Permission, next: "this method does not take this kind of authorization (some take only an app's token, not a webhook): call it with a profile made by `authorize` or `install-listen`", source: "b24pysdk `BitrixAPIWrongAuthType`; b24restdocs (\"Application context required\")" },
    Rule { name: "ALLOWED_ONLY_INTRANET_USER", code: ErrorCode::AllowedOnlyIntranetUser, status: "403", meaning: "only intranet users may call the method", refresh: Refresh::No, decision: Decision::Permission, next: "only the portal's own (intranet) users may call this method, and the authorized user is an extranet user: authorize as an intranet user", source: "b24pysdk `BitrixAPIAllowedOnlyIntranetUser`" },
    Rule { name: "ACCESS_ERROR", code: ErrorCode::AccessError, status: "403", meaning: "the user lacks the rights for this", refresh: Refresh::No, decision: Decision::Permission, next: "the authorized user lacks the rights for this: ask a portal administrator for them, or authorize as a user who has them", source: "rest module source (403; no public capture of its text)" },
    Rule { name: "ACCESS_DENIED", code: ErrorCode::AccessDenied, status: "403 (400 \"Application context required\")", meaning: "several causes: the text says which", refresh: Refresh::No, decision: Decision::Permission, next: "the portal refused access: check the user's rights and the portal's plan (REST needs a commercial plan)", source: "b24pysdk `BitrixAPIAccessDenied` (four recorded texts); rest module `classes/general/rest.php`" },
    Rule { name: "INVALID_REQUEST", code: ErrorCode::InvalidRequest, status: "400", meaning: "a malformed request; \"Https required.\" from a plain-http portal", refresh: Refresh::No, decision: Decision::Fail, next: "the server called the request malformed: check the call's parameters", source: "rest module `lib/apauth/auth.php`; b24pysdk `BitrixAPIInvalidRequest`, `BitrixOAuthInvalidRequest`" },
    Rule { name: "ERROR_BATCH_METHOD_NOT_ALLOWED", code: ErrorCode::BatchMethodNotAllowed, status: "405", meaning: "the method may not run inside `batch`", refresh: Refresh::No, decision: Decision::Fail, next: "this method cannot run inside a batch: call it on its own with `b24auth call`", source: "b24pysdk error table (`BitrixAPIErrorBatchMethodNotAllowed`)" },
    Rule { name: "ERROR_BATCH_LENGTH_EXCEEDED", code: ErrorCode::BatchLengthExceeded, status: "400", meaning: "more commands than a batch may hold (50)", refresh: Refresh::No, decision: Decision::Fail, next: "the batch holds more commands than the portal takes (50): send fewer per batch", source: "b24pysdk error table (`BitrixAPIErrorBatchLengthExceeded`)" },
    Rule { name: "ERROR_ARGUMENT", code: ErrorCode::ErrorArgument, status: "400", meaning: "a parameter is missing or wrong", refresh: Refresh::No, decision: Decision::Fail, next: "a parameter is missing or wrong (the text names it): fix the call's parameters", source: "b24restdocs method pages (`ERROR_ARGUMENT`)" },
    Rule { name: "INVALID_ARG_VALUE", code: ErrorCode::InvalidArgValue, status: "400", meaning: "a parameter's value is invalid", refresh: Refresh::No, decision: Decision::Fail, next: "a parameter's value is invalid (the text names it): fix the call's parameters", source: "b24pysdk `BitrixAPIInvalidArgValue`" },
    Rule { name: "INTERNAL_SERVER_ERROR", code: ErrorCode::InternalServerError, status: "500", meaning: "the portal failed", refresh: Refresh::No, decision: Decision::TryLater, next: TRY_LATER_READ, source: "b24pysdk `BitrixAPIInternalServerError`" },
    Rule { name: "ERROR_UNEXPECTED_ANSWER", code: ErrorCode::UnexpectedAnswer, status: "500", meaning: "the portal failed", refresh: Refresh::No, decision: Decision::TryLater, next: TRY_LATER_READ, source: "b24pysdk `BitrixAPIErrorUnexpectedAnswer`" },
    Rule { name: "OVERLOAD_LIMIT", code: ErrorCode::OverloadLimit, status: "503 (401 through the auth path)", meaning: "REST blocked by hand for load", refresh: Refresh::No, decision: Decision::TryLater, next: "the portal's REST is blocked for load: wait, then try again later", source: "b24pysdk `BitrixAPIOverloadLimit`; b24restdocs `limits.md`" },
    Rule { name: "QUERY_LIMIT_EXCEEDED", code: ErrorCode::QueryLimitExceeded, status: "503", meaning: "the rate limit (leaky bucket)", refresh: Refresh::No, decision: Decision::Wait, next: "the portal's rate limit held after the retries: run it again later, or lower `--rate`", source: "b24pysdk `BitrixAPIQueryLimitExceeded`; b24restdocs `limits.md`" },
    Rule { name: "OPERATION_TIME_LIMIT", code: ErrorCode::OperationTimeLimit, status: "429", meaning: "the method's operating-time budget is used up", refresh: Refresh::No, decision: Decision::Wait, next: "the method's operating-time budget held after the waits: run it again after its reset", source: "b24pysdk `BitrixAPIOperationTimeLimit`; b24restdocs `limits.md`" },
    Rule { name: "HTTP_429", code: ErrorCode::TooManyRequests, status: "429 without Bitrix24's JSON", meaning: "a proxy's rate limit", refresh: Refresh::No, decision: Decision::Wait, next: "the rate limit held after the retries: run it again later, or lower `--rate`", source: "b24auth's name for a proxy's 429" },
];

impl Decision {
    /// The exit code of a command that ends on this decision.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Decision::RefreshAndRetry | Decision::Reauthorize | Decision::Reinstall => {
                ExitCode::AuthNeeded
            }
            Decision::FixClient => ExitCode::Usage,
            Decision::Wait | Decision::TryLater | Decision::Permission | Decision::Fail => {
                ExitCode::Failure
            }
        }
    }
}

impl ErrorCode {
    /// The code for `code` in any case; an unknown one is kept as sent.
    pub fn parse(code: &str) -> ErrorCode {
        RULES
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(code))
            .map(|r| r.code.clone())
            .unwrap_or_else(|| ErrorCode::Other(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(s) => s,
            known => known
                .rule()
                .map(|r| r.name)
                .expect("every known code has a rule"),
        }
    }

    /// This code's row of [`RULES`]; `None` for a code b24auth does not know.
    pub fn rule(&self) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.code == *self)
    }

    /// The one decision per code: every command's handling of an answer starts here.
    pub fn decision(&self) -> Decision {
        self.rule().map_or(Decision::Fail, |r| r.decision)
    }

    /// Only a new authorization helps (exit 3): a dead pair, or an app no longer installed.
    pub fn needs_reauthorization(&self) -> bool {
        self.decision().exit_code() == ExitCode::AuthNeeded
    }

    /// The app is not installed on the portal any more (exit 3, reinstall first).
    pub fn app_removed(&self) -> bool {
        self.decision() == Decision::Reinstall
    }

    /// The client id or secret is wrong (or the app was removed): not a dead pair (exit 2).
    pub fn is_client_refusal(&self) -> bool {
        self.decision() == Decision::FixClient
    }

    /// A refresh may cure it: `expired_token`, and `invalid_token` once. Every caller that
    /// refreshes on an answer asks this (the REST caller, `show --check`).
    pub fn token_refused(&self) -> bool {
        self.rule().is_some_and(|r| r.refresh != Refresh::No)
    }

    /// A rate limit: wait and retry the same call.
    pub fn is_rate_limit(&self) -> bool {
        self.decision() == Decision::Wait
    }

    /// The server declined to decide now: try the same request again later.
    pub fn is_not_now(&self) -> bool {
        matches!(self.decision(), Decision::Wait | Decision::TryLater)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person does about `ACCESS_DENIED`, by its text (b24pysdk records four texts; the
/// rest module adds "Application context required" and an exhausted disk quota).
fn access_denied_fix(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    Some(if t.contains("application context required") {
        "this method works only with an app's token (not a webhook): call it with a profile made by `authorize` or `install-listen`"
    } else if t.contains("be authorized in this context") {
        "the portal will not authorize this user here (a deactivated, dismissed or extranet user): authorize again as an active employee of the portal"
    } else if t.contains("quota") {
        "the portal's disk quota is used up: free space on the portal's Drive, or raise the quota with its plan"
    } else if ["plan", "commercial", "tariff"]
        .iter()
        .any(|w| t.contains(w))
    {
        "REST is not available on the portal's plan (it is only on commercial plans, some methods only on extended ones): check the portal's plan"
    } else {
        return None;
    })
}

/// What a person does about `INVALID_REQUEST`, by its text: "Https required." comes from a
/// portal that takes REST only over https, reached over plain http (`lib/apauth/auth.php`).
fn invalid_request_fix(text: &str) -> Option<&'static str> {
    text.to_ascii_lowercase().contains("https required").then_some(
        "the portal takes REST only over https and this profile reaches it over plain http (kept because `--allow-http` was passed): authorize again at the portal's https:// address without `--allow-http`, which is only for portals that serve plain http alone",
    )
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
        "the app is not installed on {portal} (removed) ({e}): reinstall it in the portal, then {}; the stored pair is unchanged",
        hint::authorize_again(portal, true)
    ))
}

/// Exit 1 for an answer only a person can fix (scope, users, plan, payment), with that fix.
pub(crate) fn not_permitted(e: &ServerError) -> anyhow::Error {
    match e.next_step() {
        Some(next) => anyhow::anyhow!("{e}: {next}"),
        None => anyhow::anyhow!("{e}"),
    }
}

/// The error a command ends with on an answer no refresh or wait cured: the table's exit code
/// and next step, the hints naming `profile`'s portal.
pub(crate) fn explained(e: ServerError, profile: &Profile) -> anyhow::Error {
    let portal = &hint::domain_of(profile.portal(), profile.client_endpoint());
    match e.code.decision() {
        Decision::FixClient => client_refused(&e),
        Decision::Reinstall => app_not_installed(&e, portal),
        Decision::RefreshAndRetry | Decision::Reauthorize => {
            let after = match e.code.decision() {
                Decision::RefreshAndRetry => {
                    "the portal refused the stored token after a refresh; "
                }
                _ => "",
            };
            let next = e.next_step().unwrap_or_default();
            crate::exit::auth_needed(format!(
                "{e}: {after}{next}; {}",
                hint::authorize_again(portal, true)
            ))
        }
        _ => with_next_step(e.into()),
    }
}

/// `err` with the table's next step when it is an answer that ends in exit 1 (pay, wait, try
/// later, fix a parameter); any other error as it is.
pub(crate) fn with_next_step(err: anyhow::Error) -> anyhow::Error {
    match err.downcast::<ServerError>() {
        Ok(e) if e.code.decision().exit_code() == ExitCode::Failure => match e.next_step() {
            Some(next) => Explained { error: e, next }.into(),
            None => e.into(),
        },
        Ok(e) => e.into(),
        Err(err) => err,
    }
}

/// A server's error answer and the one next step for it (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{error}: {next}")]
pub(crate) struct Explained {
    pub error: ServerError,
    pub next: String,
}

/// No answer b24auth can take as the server's word: it was not reached (a connect error, no
/// descriptor left, a timeout), broke off, or answered with something that is not Bitrix24's
/// JSON (a proxy's 502 page). The request may be repeated; nothing was decided about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NoAnswer(pub String);

/// True when `e` holds no verdict of the server on what was sent: [`NoAnswer`], or an error
/// that only says "not now" (a rate limit, an overload, a closed portal, the server's own
/// failure). Such a failure is b24auth's or the network's, never proof that a token is forged.
pub(crate) fn no_verdict(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<NoAnswer>()
            || cause
                .downcast_ref::<ServerError>()
                .is_some_and(|s| s.code.is_not_now())
            || cause
                .downcast_ref::<Explained>()
                .is_some_and(|s| s.error.code.is_not_now())
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

    /// The one next step for this answer in plain words: the table's, or for `ACCESS_DENIED`
    /// and `INVALID_REQUEST` the one their text names. `None` for a code b24auth does not know.
    pub fn next_step(&self) -> Option<String> {
        let by_text = match self.code {
            ErrorCode::AccessDenied => access_denied_fix(&self.description),
            ErrorCode::InvalidRequest => invalid_request_fix(&self.description),
            _ => None,
        };
        by_text
            .or_else(|| self.code.rule().map(|r| r.next))
            .map(String::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decision table as `docs/bitrix24-answers.md` shows it.
    fn markdown() -> String {
        let mut out = String::from(
            "| code | status | meaning | refresh? | exit | next step | source |\n|---|---|---|---|---|---|---|\n",
        );
        for r in &RULES {
            let refresh = match r.refresh {
                Refresh::No => "no",
                Refresh::Yes => "yes, then repeat once",
                Refresh::AtMostOnce => "once at most, not again",
            };
            let next = match r.code {
                ErrorCode::AccessDenied | ErrorCode::InvalidRequest => {
                    format!("by its text (below); else: {}", r.next)
                }
                _ => r.next.to_string(),
            };
            let exit = match r.decision {
                Decision::RefreshAndRetry => "3 when the refreshed token is refused too".into(),
                Decision::Wait => "1 after the bounded retries".into(),
                d => (d.exit_code() as i32).to_string(),
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {refresh} | {exit} | {} | {} |\n",
                r.name,
                r.status,
                r.meaning.replace('|', "\\|"),
                next.replace('|', "\\|"),
                r.source
            ));
        }
        out
    }

    #[test]
    fn the_docs_show_this_table() {
        let docs = include_str!("../../docs/bitrix24-answers.md");
        let table = markdown();
        assert!(
            docs.contains(&table),
            "docs/bitrix24-answers.md must hold the decision table as it is now:\n{table}"
        );
    }

    fn answer(code: &str, text: &str) -> ServerError {
        ServerError {
            code: ErrorCode::parse(code),
            description: text.into(),
        }
    }

    #[test]
    fn every_code_has_one_row_and_round_trips_in_any_case() {
        for (i, rule) in RULES.iter().enumerate() {
            assert_eq!(ErrorCode::parse(rule.name), rule.code, "{}", rule.name);
            assert_eq!(rule.code.as_str(), rule.name);
            assert_eq!(ErrorCode::parse(&rule.name.to_ascii_uppercase()), rule.code);
            assert_eq!(ErrorCode::parse(&rule.name.to_ascii_lowercase()), rule.code);
            assert!(
                !rule.next.is_empty() && !rule.source.is_empty(),
                "{}",
                rule.name
            );
            let again = RULES[i + 1..]
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(rule.name) || r.code == rule.code);
            assert!(!again, "{} has two rows", rule.name);
        }
        assert_eq!(ErrorCode::parse("NEW_ONE").as_str(), "NEW_ONE");
        assert_eq!(ErrorCode::parse("NEW_ONE").decision(), Decision::Fail);
    }

    #[test]
    fn only_expired_and_invalid_tokens_are_refreshed() {
        let refreshed: Vec<&str> = RULES
            .iter()
            .filter(|r| r.code.token_refused())
            .map(|r| r.name)
            .collect();
        assert_eq!(refreshed, ["expired_token", "invalid_token"]);
        assert_eq!(
            ErrorCode::parse("invalid_token").rule().unwrap().refresh,
            Refresh::AtMostOnce
        );
        for c in ["NO_AUTH_FOUND", "authorization_error", "PAYMENT_REQUIRED"] {
            assert!(!ErrorCode::parse(c).token_refused(), "{c}");
        }
    }

    #[test]
    fn what_reauthorizing_cannot_cure_is_exit_1() {
        for c in [
            "PAYMENT_REQUIRED",
            "PORTAL_DELETED",
            "METHOD_CONFIRM_WAITING",
            "METHOD_CONFIRM_DENIED",
            "CONNECTION_ERROR",
            "verification_needed",
            "OVERLOAD_LIMIT",
            "INTERNAL_SERVER_ERROR",
        ] {
            let code = ErrorCode::parse(c);
            assert_eq!(code.decision().exit_code(), ExitCode::Failure, "{c}");
            assert!(!code.needs_reauthorization() && !code.app_removed(), "{c}");
        }
        for c in ["ERROR_OAUTH", "APPLICATION_NOT_FOUND", "NOT_INSTALLED"] {
            assert!(ErrorCode::parse(c).app_removed(), "{c}");
        }
        for c in ["authorization_error", "NO_AUTH_FOUND", "invalid_grant"] {
            assert_eq!(
                ErrorCode::parse(c).decision().exit_code(),
                ExitCode::AuthNeeded,
                "{c}"
            );
        }
        assert!(ErrorCode::parse("wrong_client").is_client_refusal());
    }

    #[test]
    fn not_now_answers_are_no_verdict() {
        for c in [
            "QUERY_LIMIT_EXCEEDED",
            "OPERATION_TIME_LIMIT",
            "HTTP_429",
            "OVERLOAD_LIMIT",
            "INTERNAL_SERVER_ERROR",
            "ERROR_UNEXPECTED_ANSWER",
            "CONNECTION_ERROR",
            "PORTAL_DELETED",
        ] {
            assert!(ErrorCode::parse(c).is_not_now(), "{c}");
            let explained = with_next_step(answer(c, "x").into());
            assert!(no_verdict(&explained), "{c}");
        }
        assert!(!ErrorCode::parse("invalid_token").is_not_now());
        assert!(!no_verdict(&anyhow::Error::new(answer(
            "invalid_token",
            "bad"
        ))));
        let unreachable = anyhow::Error::new(NoAnswer("cannot reach x".into()));
        assert!(no_verdict(&unreachable.context("verifying")));
        assert!(!no_verdict(&anyhow::anyhow!(
            "the callback's member_id differs"
        )));
    }

    #[test]
    fn access_denied_and_invalid_request_are_read_by_their_text() {
        let next = |c: &str, t: &str| answer(c, t).next_step().unwrap();
        assert!(next(
            "ACCESS_DENIED",
            "Access denied! Application context required"
        )
        .contains("only with an app's token"));
        assert!(next(
            "ACCESS_DENIED",
            "Current user can't be authorized in this context"
        )
        .contains("authorize again as an active employee"));
        assert!(next("ACCESS_DENIED", "Disk quota exceeded").contains("disk quota"));
        assert!(next(
            "ACCESS_DENIED",
            "REST is available only on commercial plans."
        )
        .contains("check the portal's plan"));
        assert!(next("ACCESS_DENIED", "Access denied!").contains("rights"));
        assert!(next("INVALID_REQUEST", "Https required.").contains("--allow-http"));
        assert!(
            !next("invalid_request", "No \"refresh_token\" parameter found")
                .contains("--allow-http")
        );
        assert!(answer("ERROR_METHOD_NOT_FOUND", "x").next_step().is_none());
    }

    #[test]
    fn an_explained_answer_keeps_the_code_first_and_its_exit() {
        let p = Profile::from_bitrix(Map::new(), crate::profile::Source::Install, 0);
        let e = explained(
            answer("PAYMENT_REQUIRED", "Subscription has been ended"),
            &p,
        );
        assert!(e
            .to_string()
            .starts_with("PAYMENT_REQUIRED: Subscription has been ended: "));
        assert!(e.to_string().contains("renew its payment"));
        let e = explained(
            answer("authorization_error", "Unable to authorize user"),
            &p,
        );
        assert!(matches!(
            e.downcast_ref::<crate::exit::Error>(),
            Some(crate::exit::Error::AuthNeeded(_))
        ));
        let e = explained(answer("SOMETHING_NEW", "text"), &p);
        assert_eq!(e.to_string(), "SOMETHING_NEW: text");
    }
}
