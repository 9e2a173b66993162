/*!
The stand-in's portal giving a recorded error answer instead of its own (`tests/cases/replay.rs`
replays each code Bitrix24 is on record with): once (then the portal answers as usual, so a
refresh that cures it shows), or on every call (so a second refresh would show too).
*/

use hyper::StatusCode;
use serde_json::Value;

use super::record::Answer;
use super::stand_in::StandIn;

/// The recorded answer portal REST gives, and how many more times (`None`: always).
#[derive(Debug, Default)]
pub struct RecordedErrors {
    answer: Option<Answer>,
    left: Option<usize>,
}

impl StandIn {
    /// From now on portal REST answers `status` with `body`: `times` times, or always (`None`).
    pub fn answer_rest_with(&self, status: u16, body: Value, times: Option<usize>) {
        let status = StatusCode::from_u16(status).expect("a recorded status");
        self.recorded_errors(|e| {
            e.answer = Some((status, body));
            e.left = times;
        });
    }
}

/// The recorded answer for this call, if one is due.
pub(super) fn next(e: &mut RecordedErrors) -> Option<Answer> {
    match e.left {
        Some(0) => None,
        Some(n) => {
            e.left = Some(n - 1);
            e.answer.clone()
        }
        None => e.answer.clone(),
    }
}
