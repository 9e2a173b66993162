//! The shapes of the stand-in's answers: Bitrix24's JSON errors (`{"error","error_description"}`)
//! and a proxy's HTML page, shared by every part so each error is written once.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode, StatusCode as S};
use serde_json::{json, Value};

/// A Bitrix24 error: status, `error`, `error_description`.
pub type Failure = (StatusCode, &'static str, &'static str);

// The errors more than one part gives, with Bitrix24's words.
pub const QUERY_LIMIT: Failure = (
    S::SERVICE_UNAVAILABLE,
    "QUERY_LIMIT_EXCEEDED",
    "Too many requests",
);
pub const OPERATION_TIME_LIMIT: Failure = (S::TOO_MANY_REQUESTS, "OPERATION_TIME_LIMIT", LIMITED);
pub const EXPIRED_TOKEN: Failure = (S::UNAUTHORIZED, "expired_token", EXPIRED);
pub const INVALID_TOKEN: Failure = (S::UNAUTHORIZED, "invalid_token", INVALID);
pub const INVALID_GRANT: Failure = (S::BAD_REQUEST, "invalid_grant", "Invalid grant");
const LIMITED: &str = "Method is blocked due to operation time limit.";
const EXPIRED: &str = "The access token provided has expired";
const INVALID: &str = "The access token provided is invalid";

pub type Answer = Response<Full<Bytes>>;

pub fn reply(status: StatusCode, content_type: &str, body: String) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

pub fn json_reply(status: StatusCode, v: Value) -> Answer {
    reply(status, "application/json", v.to_string())
}

/// A recorded answer (`record.rs`).
pub fn recorded((status, body): super::record::Answer) -> Answer {
    json_reply(status, body)
}

pub fn error((status, code, description): Failure) -> Answer {
    json_reply(
        status,
        json!({"error": code, "error_description": description}),
    )
}

/// An error with a description made at run time (one that echoes what it was sent).
pub fn error_saying(status: StatusCode, code: &str, description: &str) -> Answer {
    json_reply(
        status,
        json!({"error": code, "error_description": description}),
    )
}

/// HTTP 302 to `location`.
pub fn redirect(location: &str) -> Answer {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// A proxy's HTML page with `status`, as nginx writes it.
pub fn page(status: StatusCode) -> Answer {
    reply(
        status,
        "text/html",
        format!(
            "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}
