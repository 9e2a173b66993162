//! Real Bitrix24 answers, taken as data from the public record, replayed against the built
//! binary: each is decided as its source says (exit code, next step, refresh or not, the stored
//! pair untouched). A new mismatch with the real service shows up here as a failing case.
//!
//! Each case names its source. The answers are the ones the sources print; where a source
//! gives no HTTP status, the status its error class declares is used.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::support::cli::{Env, Run};
use crate::support::hostile_server::answering;
use crate::support::stand_in::{Endpoint, Fault, StandIn, When};

/// Where the replayed answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// The stand-in portal's REST (`call profile`), on every call.
    Rest,
    /// The stand-in portal's REST, once; then it answers as usual.
    RestOnce,
    /// The OAuth server's token endpoint (`refresh`).
    Token,
    /// The OAuth server's `app.info` and token endpoint (`show --check`).
    ServerAppInfo,
}

struct Case {
    source: &'static str,
    at: At,
    status: u16,
    body: &'static str,
    exit: i32,
    /// Words the one error line must hold (the decision's next step).
    says: &'static [&'static str],
    /// How many refreshes b24auth makes before it answers (the stand-in counts them).
    refreshes: usize,
}

// Sources: public files (repository, path) and documentation pages.
const PY_ERRORS: &str = "bitrix24/b24pysdk b24pysdk/errors/__init__.py";
const PY_OAUTH: &str = "bitrix24/b24pysdk b24pysdk/errors/oauth.py";
const PY_OAUTH_TESTS: &str = "bitrix24/b24pysdk tests/integration/errors/test_errors_oauth.py";
const PY_TESTS: &str = "bitrix24/b24pysdk tests/integration/errors/test_errors.py";
const DOCS_CODES: &str = "bitrix24/b24restdocs api-reference/oauth/error-codes.md";
const DOCS_RENEWAL: &str = "bitrix24/b24restdocs settings/oauth/auto-renewal.md";
const DOCS_LIMITS: &str = "bitrix24/b24restdocs limits.md / settings/how-to-call-rest-api";
const DOCS_CONFIRM: &str = "bitrix24/b24restdocs api-reference/telephony/voximplant/users/voximplant-user-get.md (METHOD_CONFIRM_WAITING \"Waiting for confirmation\")";
const DOCS_APP_CONTEXT: &str = "bitrix24/b24restdocs bizproc activity pages (ACCESS_DENIED \"Access denied! Application context required\")";
const PHP_SDK: &str =
    "bitrix24/b24phpsdk src/Core/ApiClient (bad_verification_code as invalid_grant)";
// The rest module's source (public copies: yuriy-yarvinen/bitrix-1c-lesson, bziksv/riester).
const REST_PHP: &str = "bitrix/modules/rest/classes/general/rest.php";
const REST_UTIL: &str = "bitrix/modules/rest/classes/general/rest_util.php (checkAuth)";
const OAUTH_AUTH: &str = "bitrix/modules/rest/lib/oauth/auth.php";
const APAUTH: &str = "bitrix/modules/rest/lib/apauth/auth.php";

const CASES: &[Case] = &[
    // --- a removed app (REST): reinstall, exit 3, no refresh ---
    Case {
        source: PY_TESTS, // test_error_bitrix_api_error_oauth, BitrixAPIErrorOAuth (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"ERROR_OAUTH","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["not installed on", "reinstall it in the portal"],
        refreshes: 0,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_application_not_found (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"APPLICATION_NOT_FOUND","error_description":"Application not found"}"#,
        exit: 3,
        says: &["not installed on", "reinstall"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthNotInstalled (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"NOT_INSTALLED","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["reinstall"],
        refreshes: 0,
    },
    // --- what re-authorizing cannot cure: exit 1 with the fix the record names ---
    Case {
        source: PY_TESTS, // test_error_bitrix_api_payment_required (401); error-codes.md: renew payment
        at: At::Rest,
        status: 401,
        body: r#"{"error":"PAYMENT_REQUIRED","error_description":"Subscription has been ended"}"#,
        exit: 1,
        says: &["renew its payment", "re-authorizing does not help"],
        refreshes: 0,
    },
    Case {
        source: REST_PHP, // init(): !checkSite() -> 'Portal was deleted', STATUS_FORBIDDEN
        at: At::Rest,
        status: 403,
        body: r#"{"error":"PORTAL_DELETED","error_description":"Portal was deleted"}"#,
        exit: 1,
        says: &["wait for it to reopen", "nothing needs re-authorizing"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIPortalDeleted (410)
        at: At::Rest,
        status: 410,
        body: r#"{"error":"PORTAL_DELETED","error_description":"Portal was deleted"}"#,
        exit: 1,
        says: &["wait for it to reopen"],
        refreshes: 0,
    },
    Case {
        source: OAUTH_AUTH, // the portal cannot reach the OAuth server (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"CONNECTION_ERROR","error_description":"Error connecting to authorization server"}"#,
        exit: 1,
        says: &["network between the portal and its OAuth server", "try again later"],
        refreshes: 0,
    },
    Case {
        source: OAUTH_AUTH, // "License check failed." (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"verification_needed","error_description":"License check failed."}"#,
        exit: 1,
        says: &["could not check its licence", "try again later"],
        refreshes: 0,
    },
    Case {
        source: REST_PHP, // requestConfirmation: 'Waiting for confirmation', STATUS_UNAUTHORIZED
        at: At::Rest,
        status: 401,
        body: r#"{"error":"METHOD_CONFIRM_WAITING","error_description":"Waiting for confirmation"}"#,
        exit: 1,
        says: &["ask an administrator to approve it"],
        refreshes: 0,
    },
    Case {
        source: DOCS_CONFIRM,
        at: At::Rest,
        status: 401,
        body: r#"{"error":"method_confirm_waiting","error_description":"Waiting for confirmation"}"#,
        exit: 1,
        says: &["administrator's approval"],
        refreshes: 0,
    },
    Case {
        source: REST_PHP, // requestConfirmation: 'Method call denied', STATUS_FORBIDDEN
        at: At::Rest,
        status: 403,
        body: r#"{"error":"METHOD_CONFIRM_DENIED","error_description":"Method call denied"}"#,
        exit: 1,
        says: &["administrator refused", "ask an administrator to approve it"],
        refreshes: 0,
    },
    // --- dead tokens: expired_token and invalid_token refresh once; a cure shows as exit 0 ---
    Case {
        source: PY_TESTS, // test_error_bitrix_api_expired_token (401)
        at: At::RestOnce,
        status: 401,
        body: r#"{"error":"expired_token","error_description":"The access token provided has expired."}"#,
        exit: 0,
        says: &[],
        refreshes: 1,
    },
    Case {
        source: PY_TESTS, // the same answer after the refresh: repeated once, then exit 3
        at: At::Rest,
        status: 401,
        body: r#"{"error":"expired_token","error_description":"The access token provided has expired."}"#,
        exit: 3,
        says: &["authorize --domain"],
        refreshes: 1,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_invalid_token (401)
        at: At::RestOnce,
        status: 401,
        body: r#"{"error":"invalid_token","error_description":"Unable to get application by token"}"#,
        exit: 0,
        says: &[],
        refreshes: 1,
    },
    Case {
        source: PY_TESTS, // invalid_token again after the refresh: not refreshed a second time
        at: At::Rest,
        status: 401,
        body: r#"{"error":"invalid_token","error_description":"Unable to get application by token"}"#,
        exit: 3,
        says: &["refused the stored token", "authorize --domain"],
        refreshes: 1,
    },
    // --- dead for other reasons: no refresh (it would rotate the pair for nothing) ---
    Case {
        source: REST_UTIL, // also b24pysdk test_errors_oauth.py test_error_bitrix_api_no_auth_found
        at: At::Rest,
        status: 401,
        body: r#"{"error":"NO_AUTH_FOUND","error_description":"Wrong authorization data"}"#,
        exit: 3,
        says: &["recognised no authorization", "client_endpoint", "authorize --domain"],
        refreshes: 0,
    },
    Case {
        source: OAUTH_AUTH, // also b24pysdk test_error_bitrix_api_authorization_error (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"authorization_error","error_description":"Unable to authorize user"}"#,
        exit: 3,
        says: &["deactivated", "as an active user", "authorize --domain"],
        refreshes: 0,
    },
    // --- what only a person can fix (REST): exit 1 with the fix, no refresh ---
    Case {
        source: PY_ERRORS, // BitrixAPIInsufficientScope (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token"}"#,
        exit: 1,
        says: &["add it in the app's settings and reinstall"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIUserAccessError (403)
        at: At::Rest,
        status: 403,
        body: r#"{"error":"user_access_error","error_description":"The user does not have access to the application."}"#,
        exit: 1,
        says: &["limited to some users"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIAccessDenied (403), its fourth example
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_DENIED","error_description":"REST is available only on commercial plans."}"#,
        exit: 1,
        says: &["commercial plans", "check the portal's plan"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIAccessDenied (403), its second example
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_DENIED","error_description":"Access denied! Available only on extended plans"}"#,
        exit: 1,
        says: &["check the portal's plan"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIAccessDenied (403), its third example
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_DENIED","error_description":"Current user can't be authorized in this context"}"#,
        exit: 1,
        says: &["will not authorize this user", "active employee"],
        refreshes: 0,
    },
    Case {
        source: DOCS_APP_CONTEXT, // REST_PHP requestConfirmation: AccessException('Application context required')
        at: At::Rest,
        status: 400,
        body: r#"{"error":"ACCESS_DENIED","error_description":"Access denied! Application context required"}"#,
        exit: 1,
        says: &["only with an app's token", "install-listen"],
        refreshes: 0,
    },
    Case {
        source: "bitrix/modules/rest (an exhausted disk quota, per the issue's record)",
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_DENIED","error_description":"Disk quota exceeded"}"#,
        exit: 1,
        says: &["disk quota is used up"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIAccessDenied (403), its first example: no cause named
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_DENIED","error_description":"Access denied!"}"#,
        exit: 1,
        says: &["check the user's rights and the portal's plan"],
        refreshes: 0,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_invalid_credentials (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"INVALID_CREDENTIALS","error_description":"Invalid request credentials"}"#,
        exit: 1,
        says: &["INVALID_CREDENTIALS", "refused the request's credentials"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIWrongAuthType (403); b24restdocs: "Application context required"
        at: At::Rest,
        status: 403,
        body: r#"{"error":"WRONG_AUTH_TYPE","error_description":"Current authorization type is denied for this method"}"#,
        exit: 1,
        says: &["does not take this kind of authorization"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIAllowedOnlyIntranetUser (403)
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ALLOWED_ONLY_INTRANET_USER","error_description":"Method is allowed only for intranet users"}"#,
        exit: 1,
        says: &["authorize as an intranet user"],
        refreshes: 0,
    },
    Case {
        source: "bitrix/modules/rest (ACCESS_ERROR, 403; no public capture of its text)",
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_ERROR","error_description":"Access denied"}"#,
        exit: 1,
        says: &["lacks the rights", "administrator"],
        refreshes: 0,
    },
    // --- the call itself: exit 1 with what to change, no refresh, no repeat ---
    Case {
        source: APAUTH, // "Https required." (400) for a plain-http portal
        at: At::Rest,
        status: 400,
        body: r#"{"error":"INVALID_REQUEST","error_description":"Https required."}"#,
        exit: 1,
        says: &["only over https", "without `--allow-http`"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // error table: ERROR_BATCH_METHOD_NOT_ALLOWED (405)
        at: At::Rest,
        status: 405,
        body: r#"{"error":"ERROR_BATCH_METHOD_NOT_ALLOWED","error_description":"Method is not allowed for batch usage"}"#,
        exit: 1,
        says: &["cannot run inside a batch", "b24auth call"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // error table: ERROR_BATCH_LENGTH_EXCEEDED (400)
        at: At::Rest,
        status: 400,
        body: r#"{"error":"ERROR_BATCH_LENGTH_EXCEEDED","error_description":"Max batch length exceeded"}"#,
        exit: 1,
        says: &["send fewer per batch"],
        refreshes: 0,
    },
    Case {
        source: "bitrix24/b24restdocs api-reference/entity/entities/entity-add.md (ERROR_ARGUMENT)",
        at: At::Rest,
        status: 400,
        body: r#"{"error":"ERROR_ARGUMENT","error_description":"Argument 'ENTITY' is null or empty"}"#,
        exit: 1,
        says: &["Argument 'ENTITY' is null or empty", "fix the call's parameters"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIInvalidArgValue (400)
        at: At::Rest,
        status: 400,
        body: r#"{"error":"INVALID_ARG_VALUE","error_description":"Invalid value of the argument"}"#,
        exit: 1,
        says: &["fix the call's parameters"],
        refreshes: 0,
    },
    Case {
        source: DOCS_LIMITS, // ERROR_METHOD_NOT_FOUND comes with HTTP 404
        at: At::Rest,
        status: 404,
        body: r#"{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}"#,
        exit: 1,
        says: &["ERROR_METHOD_NOT_FOUND: Method not found!"],
        refreshes: 0,
    },
    // --- the portal failed, or cannot answer now: exit 1, try later, no refresh ---
    Case {
        // the server's text is shown without its control characters
        source: PY_ERRORS, // BitrixAPIInternalServerError (500)
        at: At::Rest,
        status: 500,
        body: "{\"error\":\"INTERNAL_SERVER_ERROR\",\"error_description\":\"Internal server error\\u001b]0;owned\\u0007\\u001b[2J\"}",
        exit: 1,
        says: &["Internal server error: the portal failed", "a read is safe to repeat"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIErrorUnexpectedAnswer (500)
        at: At::Rest,
        status: 500,
        body: r#"{"error":"ERROR_UNEXPECTED_ANSWER","error_description":"Server returned an unexpected response."}"#,
        exit: 1,
        says: &["run it again later"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIOverloadLimit (503)
        at: At::Rest,
        status: 503,
        body: r#"{"error":"OVERLOAD_LIMIT","error_description":"REST API is blocked due to overload."}"#,
        exit: 1,
        says: &["blocked for load", "try again later"],
        refreshes: 0,
    },
    Case {
        source: OAUTH_AUTH, // OVERLOAD_LIMIT through the auth path (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"OVERLOAD_LIMIT","error_description":"REST API is blocked due to overload."}"#,
        exit: 1,
        says: &["blocked for load"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIQueryLimitExceeded (503): retried, bounded
        at: At::Rest,
        status: 503,
        body: r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        exit: 1,
        says: &["rate limit held after the retries", "--rate"],
        refreshes: 0,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIOperationTimeLimit (429): waited for, bounded
        at: At::Rest,
        status: 429,
        body: r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked due to operation time limit."}"#,
        exit: 1,
        says: &["operating-time budget held"],
        refreshes: 0,
    },
    Case {
        source: DOCS_LIMITS, // a proxy's 429 without Bitrix24's error: b24auth's HTTP_429
        at: At::Rest,
        status: 429,
        body: r#"{"message":"Too Many Requests"}"#,
        exit: 1,
        says: &["HTTP_429", "rate limit held after the retries"],
        refreshes: 0,
    },
    // --- the token endpoint ---
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_oauth_wrong_client: HTTP 200 (BitrixOauthWrongClient)
        at: At::Token,
        status: 200,
        body: r#"{"error":"wrong_client"}"#,
        exit: 2,
        says: &["B24AUTH_CLIENT_ID", "or the app was removed"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_oauth_invalid_client (400)
        at: At::Token,
        status: 400,
        body: r#"{"error":"invalid_client"}"#,
        exit: 2,
        says: &["B24AUTH_CLIENT_SECRET", "or the app was removed"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_oauth_invalid_grant_refresh_token (400), matched upper-cased
        at: At::Token,
        status: 400,
        body: r#"{"error":"INVALID_GRANT"}"#,
        exit: 3,
        says: &["refused the stored refresh token"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidGrant example
        at: At::Token,
        status: 400,
        body: r#"{"error":"invalid_grant"}"#,
        exit: 3,
        says: &["authorize --domain"],
        refreshes: 0,
    },
    Case {
        source: PHP_SDK,
        at: At::Token,
        status: 400,
        body: r#"{"error":"bad_verification_code"}"#,
        exit: 3,
        says: &["refused the stored refresh token"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidRequest example (400)
        at: At::Token,
        status: 400,
        body: r#"{"error":"invalid_request","error_description":"No \"refresh_token\" parameter found"}"#,
        exit: 1,
        says: &["invalid_request", "check the call's parameters"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthNotInstalled (401)
        at: At::Token,
        status: 401,
        body: r#"{"error":"NOT_INSTALLED","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["reinstall it in the portal"],
        refreshes: 0,
    },
    Case {
        source: DOCS_RENEWAL, // PAYMENT_REQUIRED on a refresh: pay (or reinstall a removed app)
        at: At::Token,
        status: 402,
        body: r#"{"error":"PAYMENT_REQUIRED","error_description":"Payment required"}"#,
        exit: 1,
        says: &["renew its payment", "if the app was removed instead, reinstall it"],
        refreshes: 0,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidScope example (upper case)
        at: At::Token,
        status: 403,
        body: r#"{"error":"INVALID_SCOPE","error_description":"Given scope exceeds permissions associated with given grant"}"#,
        exit: 1,
        says: &["INVALID_SCOPE", "add it in the app's settings"],
        refreshes: 0,
    },
    Case {
        source: DOCS_CODES, // invalid_client: "The application may not be installed in Bitrix24"
        at: At::Token,
        status: 401,
        body: r#"{"error":"invalid_client","error_description":"Invalid client credentials"}"#,
        exit: 2,
        says: &["the app was removed"],
        refreshes: 0,
    },
    // --- the OAuth server's app.info (show --check) ---
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidClient: "can be returned by /rest/app.info/ when access token is invalid"
        at: At::ServerAppInfo,
        status: 400,
        body: r#"{"error":"invalid_client"}"#,
        exit: 3,
        says: &["does not work"],
        refreshes: 1,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthNotInstalled at the OAuth server
        at: At::ServerAppInfo,
        status: 401,
        body: r#"{"error":"NOT_INSTALLED","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["reinstall it in the portal"],
        refreshes: 0,
    },
];

/// What one replayed case came to.
struct Outcome {
    run: Run,
    refreshes: usize,
    /// REST calls the portal saw (REST cases only).
    rest_calls: usize,
    before: Vec<u8>,
    after: Vec<u8>,
}

/// Runs one case against a fresh stand-in (the portal, or the trusted OAuth server for a
/// replayed REST answer) or a server that answers only the recorded answer.
fn replay(case: &Case) -> Outcome {
    let s = StandIn::start();
    let env = Env::new();
    let body: Value = serde_json::from_str(case.body).expect("the case's body is JSON");
    env.seed(&s, 3600);
    let before = env.auth_bytes();
    let (run, refreshes) = match case.at {
        At::Rest | At::RestOnce => {
            let when = match case.at {
                At::RestOnce => When::Next(1),
                _ => When::Always,
            };
            let status = hyper::StatusCode::from_u16(case.status).expect("a recorded status");
            s.fail(Endpoint::Rest, when, Fault::Recorded((status, body)));
            let run = Env::run_cmd(&mut env.app_cmd(&s, &["call", "profile"]));
            (run, s.counters().refreshes)
        }
        At::Token | At::ServerAppInfo => {
            let (answer, seen) = answering(case.status, &body);
            let args: &[&str] = match case.at {
                At::Token => &["refresh"],
                _ => &["show", "--check"],
            };
            let mut cmd = env.app_cmd(&s, args);
            cmd.env("B24AUTH_OAUTH_SERVER", &answer);
            let run = Env::run_cmd(&mut cmd);
            // The replayed server is the OAuth server: a refresh is a request after the first.
            (run, seen.load(Ordering::SeqCst).saturating_sub(1))
        }
    };
    Outcome {
        run,
        refreshes,
        rest_calls: s.counters().rest_calls,
        before,
        after: env.auth_bytes(),
    }
}

/// What is wrong with `o` for `case`; empty when it was decided as the source says.
fn mismatches(case: &Case, o: &Outcome) -> Vec<String> {
    let line = o.run.stderr.lines().last().unwrap_or("");
    let mut wrong = Vec::new();
    if o.run.code != case.exit {
        wrong.push(format!("exit {} (want {})", o.run.code, case.exit));
    }
    for word in case.says {
        if !line.to_lowercase().contains(&word.to_lowercase()) {
            wrong.push(format!("no `{word}`"));
        }
    }
    if o.refreshes != case.refreshes {
        wrong.push(format!(
            "{} refreshes (want {})",
            o.refreshes, case.refreshes
        ));
    }
    // Only a refresh or a rate limit repeats a call; anything else is asked once.
    let waits = ["QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "Too Many"]
        .iter()
        .any(|w| case.body.contains(w));
    if case.at == At::Rest && !waits && o.rest_calls != 1 + case.refreshes {
        wrong.push(format!("{} REST calls", o.rest_calls));
    }
    if case.exit != 0 && !o.run.stdout.is_empty() {
        wrong.push("printed to stdout".into());
    }
    if o.after != o.before && case.refreshes == 0 {
        wrong.push("the stored pair changed".into());
    }
    if o.run.stderr.chars().any(|c| c.is_control() && c != '\n') {
        wrong.push("a control character reached stderr".into());
    }
    wrong
}

/// The cases run side by side, eight at a time, the slow ones (the rate limits, whose bounded
/// retries take their time) first.
#[test]
fn every_replayed_answer_is_decided_as_its_source_says() {
    let waits = |c: &Case| c.status == 429 || c.body.contains("QUERY_LIMIT_EXCEEDED");
    let mut order: Vec<usize> = (0..CASES.len()).collect();
    order.sort_by_key(|i| !waits(&CASES[*i]));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut outcomes: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                        done.push((i, replay(&CASES[i])));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a replay thread"))
            .collect()
    });
    outcomes.sort_by_key(|(i, _)| *i);
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
    let mut failures = Vec::new();
    for (case, o) in CASES.iter().zip(&outcomes) {
        let wrong = mismatches(case, o);
        if !wrong.is_empty() {
            failures.push(format!(
                "{} {}: {}\n    {}",
                case.source,
                case.body,
                wrong.join(", "),
                o.run.stderr.lines().last().unwrap_or("")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every code in the decision table of `docs/bitrix24-answers.md` has a replayed case here.
#[test]
fn every_code_in_the_table_is_replayed() {
    let docs = include_str!("../../docs/bitrix24-answers.md");
    let table = docs
        .split("<!-- the decision table -->")
        .nth(1)
        .expect("docs/bitrix24-answers.md marks its decision table");
    let codes: Vec<&str> = table
        .trim_start()
        .lines()
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    assert!(codes.len() > 30, "{codes:?}");
    let missing: Vec<&&str> = codes
        .iter()
        .filter(|c| *c != &"HTTP_429")
        .filter(|c| {
            !CASES.iter().any(|case| {
                case.body
                    .to_lowercase()
                    .contains(&format!("\"error\":\"{}\"", c.to_lowercase()))
            })
        })
        .collect();
    assert!(missing.is_empty(), "no replayed answer for {missing:?}");
}

/// fast_bitrix24 `tests/real_responses/crm_item_list.py`: items inside `result.items`, with
/// lower-case `id`, read as the page's items.
#[test]
fn crm_item_list_items_are_the_pages_items() {
    let s = StandIn::start();
    let env = Env::new();
    let answer = json!({"result": {"items": [
        {"id": 1, "title": "Конференция Оцифровка 2024", "ufCrm11_1712074666": "2024-04-19T03:00:00+03:00"},
        {"id": 2, "title": "Вебинар - Встреча с вендором \"Сбер Бизнес Софт\"", "ufCrm11_1712074666": "2024-05-29T03:00:00+03:00"},
        {"id": 3, "title": "Полезный вебинар Захар Технолоджи 06.06.2024 в 14:00 мск", "ufCrm11_1712074666": "2024-06-06T03:00:00+03:00"}
    ]}, "total": 3, "time": {"start": 1716807327.463936, "finish": 1716807327.524198,
        "duration": 0.06026196479797363, "processing": 0.030804872512817383,
        "date_start": "2024-05-27T13:55:27+03:00", "date_finish": "2024-05-27T13:55:27+03:00"}});
    let (portal, _) = answering(200, &answer);
    let mut doc = env.seed(&s, 3600);
    doc["client_endpoint"] = format!("{portal}/rest/").into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let run = env.run(&["call", "crm.item.list", "--all", "entityTypeId:=1268"]);
    run.assert_ok();
    let ids: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(1), json!(2), json!(3)]);
}

/// PROTOCOL's real refresh answer (b24restdocs `settings/oauth/index.md`) is saved as received,
/// and `total: 0` from a `start=-1` page (b24restdocs `settings/performance/huge-data.md`) is
/// no count: the page's items arrive and nothing waits for 0 more.
#[test]
fn a_real_refresh_answer_and_a_start_minus_1_page_are_read() {
    let s = StandIn::start();
    let env = Env::new();
    let real = json!({"access_token":"717e0567006e9f06006b12e400000001000007c2ebc8f80264531d4fc09a27052a7fe2",
        "expires":1728413297,"expires_in":"3600","scope":"app","domain":"oauth.bitrix.info",
        "server_endpoint":"https://oauth.bitrix.info/rest/","status":"L",
        "client_endpoint":"https://b24-ar17wx.bitrix24.by/rest/",
        "member_id":"00168f0dd11ff00b4aeb8ce5befaa139","user_id":1,
        "refresh_token":"61fd2c67006e9f06006b12e4000000010000070914b54013c4e30eb73b4c6524c61989"});
    let (server, _) = answering(200, &real);
    // The stored pair is of the portal the recorded answer names (an answer naming another
    // portal is kept apart: `refresh_answers.rs`).
    let mut doc = env.seed(&s, -10);
    doc["client_endpoint"] = real["client_endpoint"].clone();
    doc["member_id"] = real["member_id"].clone();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    let mut cmd = env.app_cmd(&s, &["refresh"]);
    cmd.env("B24AUTH_OAUTH_SERVER", &server);
    Env::run_cmd(&mut cmd).assert_ok();
    let stored = env.auth();
    assert_eq!(
        stored["client_endpoint"],
        "https://b24-ar17wx.bitrix24.by/rest/"
    );
    assert_eq!(stored["expires_in"], 3600, "a string number is read");
    assert_eq!(stored["expires"], 1728413297);

    let page = json!({"result": [{"ID": "1"}, {"ID": "2"}], "total": 0});
    let (portal, seen) = answering(200, &page);
    let mut doc = env.seed(&s, 3600);
    doc["client_endpoint"] = format!("{portal}/rest/").into();
    env.write_auth(&serde_json::to_vec(&doc).unwrap());
    // --plan: no app.info call to learn the plan, so every request counted here is a page.
    let run = env.run(&[
        "call",
        "crm.deal.list",
        "--all",
        "start:=-1",
        "--plan",
        "standard",
    ]);
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), 2);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "one page, no chase after a count of 0"
    );
}

/// The stand-in itself answers as the record shows: `crm.item.list` wraps its items, an
/// unknown method is 404 `ERROR_METHOD_NOT_FOUND`, and both are read as the replayed ones are.
#[test]
fn the_stand_in_answers_as_the_record_shows() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let run = env.run(&["call", "crm.item.list", "--all", "entityTypeId:=2"]);
    run.assert_ok();
    assert_eq!(
        run.stdout.lines().count(),
        crate::support::stand_in::record::ITEMS,
        "{}",
        run.stdout
    );
    let line = env
        .run(&["call", "no.such.method"])
        .assert_error(1)
        .to_string();
    assert!(
        line.ends_with("ERROR_METHOD_NOT_FOUND: Method not found!"),
        "{line}"
    );
}

/// A pair whose `server_endpoint` names an OAuth server outside Bitrix24's two (an on-premise
/// administrator's `rest/oauth_server`) is not refreshed at a guessed server, nor at the named
/// one unasked: the command says exactly which host it named and the `--oauth-server` to pass,
/// sends nothing anywhere, keeps the pair; with the server named, the refresh goes there.
#[test]
fn a_pair_naming_another_oauth_server_says_so_and_waits_to_be_told() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = env.seed(&s, -10);
    doc["server_endpoint"] = "https://oauth.corp.example/rest/".into();
    doc["b24auth"]
        .as_object_mut()
        .unwrap()
        .remove("oauth_server");
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
    let before = env.auth_bytes();
    let mut token = env.app_cmd(&s, &["token"]);
    token.env_remove("B24AUTH_OAUTH_SERVER");
    let run = Env::run_cmd(&mut token);
    let line = run.assert_error(2);
    assert!(
        line.contains("names the OAuth server https://oauth.corp.example, which is not one of Bitrix24's (oauth.bitrix.info, oauth.bitrix24.tech)"),
        "{line}"
    );
    assert!(
        line.contains("run `b24auth --oauth-server https://oauth.corp.example refresh`"),
        "{line}"
    );
    assert!(run.stdout.is_empty());
    assert_eq!(s.counters().token_calls, 0, "the secret went nowhere");
    assert_eq!(env.auth_bytes(), before, "the stored pair is unchanged");

    // Named by the user (here: the stand-in), the server is used, and kept with the profile.
    let mut named = env.app_cmd(&s, &["--oauth-server", &s.base, "refresh"]);
    named.env_remove("B24AUTH_OAUTH_SERVER");
    Env::run_cmd(&mut named).assert_ok();
    assert_eq!(s.counters().refreshes, 1);
    let mut again = env.app_cmd(&s, &["refresh"]);
    again.env_remove("B24AUTH_OAUTH_SERVER");
    Env::run_cmd(&mut again).assert_ok();
    assert_eq!(s.counters().refreshes, 2, "the named server was kept");
}

/// The same rule on `show --check`: a stored pair naming an OAuth server outside Bitrix24's two
/// is checked neither at a guessed server nor at the named one unasked (exit 2 naming the
/// `--oauth-server` to pass); with the server named, the check goes there.
#[test]
fn show_check_of_a_pair_naming_another_oauth_server_waits_to_be_told() {
    let s = StandIn::start();
    let env = Env::new();
    let mut doc = env.seed(&s, 3600);
    doc["server_endpoint"] = "https://oauth.corp.example/rest/".into();
    doc["b24auth"]
        .as_object_mut()
        .unwrap()
        .remove("oauth_server");
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
    let mut check = env.app_cmd(&s, &["show", "--check"]);
    check.env_remove("B24AUTH_OAUTH_SERVER");
    let run = Env::run_cmd(&mut check);
    let line = run.assert_error(2);
    assert!(
        line.contains(
            "names the OAuth server https://oauth.corp.example, which is not one of Bitrix24's"
        ),
        "{line}"
    );
    assert!(
        line.contains("`b24auth --oauth-server https://oauth.corp.example refresh`"),
        "{line}"
    );
    let asked = s.counters();
    assert_eq!(
        asked.app_info_server + asked.token_calls,
        0,
        "nothing asked"
    );

    let mut named = env.app_cmd(&s, &["--oauth-server", &s.base, "show", "--check"]);
    named.env_remove("B24AUTH_OAUTH_SERVER");
    Env::run_cmd(&mut named).assert_ok();
    assert_eq!(
        s.counters().app_info_server,
        1,
        "checked at the named server"
    );
}

/// The same rule on the proving path: a kept install candidate naming an OAuth server outside
/// Bitrix24's two, with no server stored beside it (kept by an older b24auth), is not proven at
/// a guessed server: the command says which host and the `--oauth-server` to pass, sends its
/// refresh token nowhere and keeps it; with the server named, the refresh there proves it.
#[test]
fn a_candidate_naming_another_oauth_server_waits_to_be_told() {
    use crate::support::callbacks::{install_callback, post_install, INSTALL_PATH};
    let s = StandIn::start();
    s.app_info_without_identity();
    let env = Env::new();
    let (p, addr) =
        env.listen(&mut env.install_listen(&s, false, INSTALL_PATH, &["--timeout", "2s"]));
    let mut pair = s.issue_pair();
    pair["server_endpoint"] = "https://oauth.corp.example/rest/".into();
    let r = post_install(&addr, &install_callback(&pair, &s.base));
    assert_eq!(r.status, 200, "{r:?}");
    p.finish().assert_ok();
    let file = super::install_listen::only_candidate_file(&env);
    let mut kept: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    kept["b24auth"]
        .as_object_mut()
        .unwrap()
        .remove("oauth_server");
    std::fs::write(&file, serde_json::to_vec(&kept).unwrap()).unwrap();
    let calls_before = s.counters().token_calls;

    let mut refresh = env.app_cmd(&s, &["refresh"]);
    refresh.env_remove("B24AUTH_OAUTH_SERVER");
    let run = Env::run_cmd(&mut refresh);
    let line = run.assert_final_error(3);
    assert!(line.contains("candidates not yet proven"), "{line}");
    assert!(
        run.stderr
            .contains("names the OAuth server https://oauth.corp.example,"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`b24auth --oauth-server https://oauth.corp.example refresh`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        s.counters().token_calls,
        calls_before,
        "the token went nowhere"
    );
    // Still kept.
    super::install_listen::only_candidate_file(&env);
    assert!(!env.auth_path().exists());

    let mut named = env.app_cmd(&s, &["--oauth-server", &s.base, "refresh"]);
    named.env_remove("B24AUTH_OAUTH_SERVER");
    Env::run_cmd(&mut named).assert_ok();
    assert_eq!(
        s.counters().refreshes,
        2,
        "the proof at the named server, then the refresh asked for"
    );
    assert!(env.auth_path().exists(), "the proven pair is the profile");
}
