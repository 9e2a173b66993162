/*!
The uninstalled mark: `serve` received ONAPPUNINSTALL for the profile's portal. The profile is
kept (its history, the `member_id` a reinstall will match) with `b24auth.uninstalled_at` (unix
time); nothing refreshes it and every command that loads it exits 3 naming the uninstall and its
time. A reinstall saves a new profile, without the mark.
*/

use anyhow::Result;

use super::Store;
use crate::profile::Profile;

/// When the portal uninstalled the app, if it did.
pub(crate) fn uninstalled_at(p: &Profile) -> Option<i64> {
    p.uninstalled_at()
}

/// `p`, or the exit-3 error naming the uninstall when it carries the mark.
pub(crate) fn refuse_uninstalled(name: &str, p: Profile) -> Result<Profile> {
    match uninstalled_at(&p) {
        None => Ok(p),
        Some(at) => Err(crate::exit::auth_needed(format!(
            "the app was uninstalled from {} at {} (ONAPPUNINSTALL received by `b24auth serve`); profile `{name}` is kept but never refreshed or used: reinstall the app in the portal, then {}",
            p.portal().unwrap_or_else(|| "the portal".into()),
            crate::ui::utc(at),
            crate::ui::hint::authorize_again("PORTAL", true)
        ))),
    }
}

/// Marks profile `name` uninstalled at `at`, under its lock; the first mark's time is kept.
pub(crate) async fn mark_uninstalled(store: &Store, name: &str, at: i64) -> Result<()> {
    super::update_locked(store, name, |p| {
        if uninstalled_at(p).is_none() {
            p.mark_uninstalled(at);
        }
    })
    .await
    .map(|_| ())
}
