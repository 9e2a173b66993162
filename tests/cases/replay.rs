//! Real Bitrix24 answers, taken as data from the public record, replayed against the built
//! binary: each is decided as its source says (exit code, next step, refresh or not, the stored
//! pair untouched). A new mismatch with the real service shows up here as a failing case.
//!
//! Each case names its source. The answers are the ones the sources print; where a source
//! gives no HTTP status, the status its error class declares is used.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::support::cli::{Env, Run};
use crate::support::record::answering;
use crate::support::stand_in::StandIn;

/// Where the replayed answer comes from.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The portal's REST (`call profile`).
    Rest,
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
    /// Whether b24auth refreshes (a dead token) before giving up.
    refreshes: bool,
}

const PY_ERRORS: &str = "bitrix24/b24pysdk b24pysdk/errors/__init__.py";
const PY_OAUTH: &str = "bitrix24/b24pysdk b24pysdk/errors/oauth.py";
const PY_OAUTH_TESTS: &str = "bitrix24/b24pysdk tests/integration/errors/test_errors_oauth.py";
const PY_TESTS: &str = "bitrix24/b24pysdk tests/integration/errors/test_errors.py";
const DOCS_CODES: &str = "bitrix24/b24restdocs api-reference/oauth/error-codes.md";
const DOCS_RENEWAL: &str = "bitrix24/b24restdocs settings/oauth/auto-renewal.md";
const DOCS_LIMITS: &str = "bitrix24/b24restdocs limits.md / settings/how-to-call-rest-api";
const PHP_SDK: &str =
    "bitrix24/b24phpsdk src/Core/ApiClient (bad_verification_code as invalid_grant)";

const CASES: &[Case] = &[
    // --- a removed app (REST) ---
    Case {
        source: PY_TESTS, // test_error_bitrix_api_error_oauth, BitrixAPIErrorOAuth (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"ERROR_OAUTH","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["not installed on", "reinstall it in the portal"],
        refreshes: false,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_application_not_found (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"APPLICATION_NOT_FOUND","error_description":"Application not found"}"#,
        exit: 3,
        says: &["not installed on", "reinstall"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthNotInstalled (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"NOT_INSTALLED","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["reinstall"],
        refreshes: false,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_payment_required (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"PAYMENT_REQUIRED","error_description":"Subscription has been ended"}"#,
        exit: 3,
        says: &["payment expired", "reinstall"],
        refreshes: false,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIPortalDeleted (410)
        at: At::Rest,
        status: 410,
        body: r#"{"error":"PORTAL_DELETED","error_description":"Portal was deleted"}"#,
        exit: 3,
        says: &["PORTAL_DELETED"],
        refreshes: false,
    },
    // --- dead tokens (REST): refresh once and repeat the call where the trusted server's
    // answer says the portal is (here: the stand-in, which answers) ---
    Case {
        source: PY_TESTS, // test_error_bitrix_api_invalid_token (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"invalid_token","error_description":"Unable to get application by token"}"#,
        exit: 0,
        says: &[],
        refreshes: true,
    },
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_api_no_auth_found (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"NO_AUTH_FOUND","error_description":"Wrong authorization data"}"#,
        exit: 0,
        says: &[],
        refreshes: true,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_authorization_error (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"authorization_error","error_description":"Unable to authorize user"}"#,
        exit: 0,
        says: &[],
        refreshes: true,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_expired_token (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"expired_token","error_description":"The access token provided has expired."}"#,
        exit: 0,
        says: &[],
        refreshes: true,
    },
    // --- what only a person can fix (REST): exit 1 with the fix, no refresh ---
    Case {
        source: PY_ERRORS, // BitrixAPIInsufficientScope (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token"}"#,
        exit: 1,
        says: &["add it in the app's settings and reinstall"],
        refreshes: false,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIUserAccessError (403)
        at: At::Rest,
        status: 403,
        body: r#"{"error":"user_access_error","error_description":"The user does not have access to the application."}"#,
        exit: 1,
        says: &["limited to some users"],
        refreshes: false,
    },
    Case {
        source: PY_ERRORS, // BitrixAPIAccessDenied (403)
        at: At::Rest,
        status: 403,
        body: r#"{"error":"ACCESS_DENIED","error_description":"REST is available only on commercial plans."}"#,
        exit: 1,
        says: &["commercial plans"],
        refreshes: false,
    },
    Case {
        source: PY_TESTS, // test_error_bitrix_api_invalid_credentials (401)
        at: At::Rest,
        status: 401,
        body: r#"{"error":"INVALID_CREDENTIALS","error_description":"Invalid request credentials"}"#,
        exit: 1,
        says: &["INVALID_CREDENTIALS"],
        refreshes: false,
    },
    Case {
        source: DOCS_LIMITS, // ERROR_METHOD_NOT_FOUND comes with HTTP 404
        at: At::Rest,
        status: 404,
        body: r#"{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}"#,
        exit: 1,
        says: &["ERROR_METHOD_NOT_FOUND: Method not found!"],
        refreshes: false,
    },
    // --- the token endpoint ---
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_oauth_wrong_client: HTTP 200 (BitrixOauthWrongClient)
        at: At::Token,
        status: 200,
        body: r#"{"error":"wrong_client"}"#,
        exit: 2,
        says: &["B24AUTH_CLIENT_ID", "or the app was removed"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_oauth_invalid_client (400)
        at: At::Token,
        status: 400,
        body: r#"{"error":"invalid_client"}"#,
        exit: 2,
        says: &["B24AUTH_CLIENT_SECRET", "or the app was removed"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH_TESTS, // test_error_bitrix_oauth_invalid_grant_refresh_token (400), matched upper-cased
        at: At::Token,
        status: 400,
        body: r#"{"error":"INVALID_GRANT"}"#,
        exit: 3,
        says: &["refused the stored refresh token"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidGrant example
        at: At::Token,
        status: 400,
        body: r#"{"error":"invalid_grant"}"#,
        exit: 3,
        says: &["authorize --domain"],
        refreshes: false,
    },
    Case {
        source: PHP_SDK,
        at: At::Token,
        status: 400,
        body: r#"{"error":"bad_verification_code"}"#,
        exit: 3,
        says: &["refused the stored refresh token"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidRequest example (400)
        at: At::Token,
        status: 400,
        body: r#"{"error":"invalid_request","error_description":"No \"refresh_token\" parameter found"}"#,
        exit: 1,
        says: &["invalid_request"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthNotInstalled (401)
        at: At::Token,
        status: 401,
        body: r#"{"error":"NOT_INSTALLED","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["reinstall it in the portal"],
        refreshes: false,
    },
    Case {
        source: DOCS_RENEWAL, // PAYMENT_REQUIRED on a refresh can mean the app was removed
        at: At::Token,
        status: 402,
        body: r#"{"error":"PAYMENT_REQUIRED","error_description":"Payment required"}"#,
        exit: 3,
        says: &["removed, or its payment expired"],
        refreshes: false,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidScope example (upper case)
        at: At::Token,
        status: 403,
        body: r#"{"error":"INVALID_SCOPE","error_description":"Given scope exceeds permissions associated with given grant"}"#,
        exit: 1,
        says: &["INVALID_SCOPE"],
        refreshes: false,
    },
    Case {
        source: DOCS_CODES, // invalid_client: "The application may not be installed in Bitrix24"
        at: At::Token,
        status: 401,
        body: r#"{"error":"invalid_client","error_description":"Invalid client credentials"}"#,
        exit: 2,
        says: &["the app was removed"],
        refreshes: false,
    },
    // --- the OAuth server's app.info (show --check) ---
    Case {
        source: PY_OAUTH, // BitrixOAuthInvalidClient: "can be returned by /rest/app.info/ when access token is invalid"
        at: At::ServerAppInfo,
        status: 400,
        body: r#"{"error":"invalid_client"}"#,
        exit: 3,
        says: &["does not work"],
        refreshes: true,
    },
    Case {
        source: PY_OAUTH, // BitrixOAuthNotInstalled at the OAuth server
        at: At::ServerAppInfo,
        status: 401,
        body: r#"{"error":"NOT_INSTALLED","error_description":"Application not installed"}"#,
        exit: 3,
        says: &["reinstall it in the portal"],
        refreshes: false,
    },
];

/// Runs one case: the run, how many requests the replayed server saw, the stored file before
/// and after, and the stand-in (the trusted OAuth server for REST cases).
fn replay(case: &Case) -> (Run, usize, Vec<u8>, Vec<u8>, StandIn) {
    let s = StandIn::start();
    let env = Env::new();
    let body: Value = serde_json::from_str(case.body).expect("the case's body is JSON");
    let (answer, seen) = answering(case.status, &body);
    let mut doc = env.seed(&s, 3600);
    let args: &[&str] = match case.at {
        At::Rest => {
            doc["client_endpoint"] = format!("{answer}/rest/").into();
            &["call", "profile"]
        }
        At::Token => &["refresh"],
        At::ServerAppInfo => &["show", "--check"],
    };
    env.write_auth(&serde_json::to_vec_pretty(&doc).unwrap());
    let before = env.auth_bytes();
    let mut cmd = env.app_cmd(&s, args);
    if !matches!(case.at, At::Rest) {
        cmd.env("B24AUTH_OAUTH_SERVER", &answer);
    }
    let run = Env::run_cmd(&mut cmd);
    let after = env.auth_bytes();
    (run, seen.load(Ordering::SeqCst), before, after, s)
}

#[test]
fn every_replayed_answer_is_decided_as_its_source_says() {
    let mut failures = Vec::new();
    for case in CASES {
        let (run, seen, before, after, s) = replay(case);
        let line = run.stderr.lines().last().unwrap_or("").to_string();
        let refreshed = match case.at {
            At::Rest => s.counters().refreshes > 0,
            // The replayed server is the OAuth server: a refresh is a second request to it.
            _ => seen > 1,
        };
        let mut wrong = Vec::new();
        if run.code != case.exit {
            wrong.push(format!("exit {} (want {})", run.code, case.exit));
        }
        for word in case.says {
            if !line.to_lowercase().contains(&word.to_lowercase()) {
                wrong.push(format!("no `{word}`"));
            }
        }
        if refreshed != case.refreshes {
            wrong.push(format!("refreshed: {refreshed} (want {})", case.refreshes));
        }
        if case.exit != 0 && !run.stdout.is_empty() {
            wrong.push("printed to stdout".into());
        }
        if after != before && !case.refreshes {
            wrong.push("the stored pair changed".into());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} {}: {}\n    {line}",
                case.source,
                case.body,
                wrong.join(", ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
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
    env.seed(&s, -10);
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
    // --plan: no app.info for the plan (issue 22), so every request counted here is a page.
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
        crate::support::record::ITEMS,
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
