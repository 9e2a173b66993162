/*!
What a kept pair is worth while the listener waits on for a better one.
*/

use crate::profile::Profile;

/// How much a saved pair is worth: a later callback replaces a kept one only when it is worth
/// more, or when it has rotated (a rotated pair is never dropped).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Worth {
    /// Unverified, the callback's pair as received.
    Unproven,
    /// Unverified, but rotated by the proving refresh.
    Rotated,
    /// Confirmed by `app.info`, proven by a refresh, or `--no-verify`: ends the flow.
    Proven,
}

/// A pair made under the lock, with its worth.
pub(crate) struct Made {
    pub profile: Profile,
    pub worth: Worth,
}

impl Made {
    pub(crate) fn proven(profile: Profile) -> Made {
        Made {
            profile,
            worth: Worth::Proven,
        }
    }
}

/// A later callback worth no more than the kept one, with a pair that did not rotate.
#[derive(Debug, thiserror::Error)]
#[error("an unverified install is already kept (this one names {0})")]
pub(crate) struct NotKept(pub String);
