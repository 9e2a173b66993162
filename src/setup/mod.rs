/*!
`b24auth setup`: the guided first run. It asks for the portal and the way in, says exactly what
to enter in the portal's form and where the keys appear, and takes them; the commands layer then
runs the existing flow (`authorize`, `install-listen` or `import --webhook`), makes a first call
and prints [`next_commands`]. Nothing here touches the store or the network.
*/

mod answers;
mod form;
mod questions;

pub(crate) use answers::{Answers, Keys, WayIn};
pub(crate) use form::next_commands;
pub(crate) use questions::keys;

use anyhow::Result;
use url::Url;

use crate::ui::Ui;

/// The exit-2 answer when there is nobody to ask.
pub(crate) fn no_terminal() -> anyhow::Error {
    crate::exit::usage(
        "setup asks its questions on a terminal, and there is none: run one of \
         `b24auth authorize --domain PORTAL` (a local app, approved in a browser), \
         `b24auth install-listen --public-url URL` (a \"Uses API only\" app) or \
         `b24auth import --webhook` (an incoming webhook's address on stdin)",
    )
}

/// Asks everything the chosen flow needs before it runs; `check_portal` is `authorize
/// --domain`'s check.
pub(crate) fn ask(ui: &Ui, check_portal: &dyn Fn(&str) -> Result<Url>) -> Result<Answers> {
    if !crate::ui::can_ask() {
        return Err(no_terminal());
    }
    ui.always("b24auth setup: a first token in a few questions (Ctrl-C stops; nothing is saved until the end).");
    let portal = questions::portal(check_portal)?;
    let choice = questions::way()?;
    let way = match choice {
        0 => WayIn::Browser {
            redirect_uri: questions::redirect_uri()?,
        },
        1 => {
            let (listen, public_url) = questions::reach()?;
            let path = format!("/install/{}", crate::secret::random_hex(16));
            WayIn::Install {
                listen,
                public_url,
                path,
            }
        }
        _ => WayIn::Webhook {
            url: crate::secret::Secret::new(""),
        },
    };
    let scopes = questions::scopes()?;
    ui.always(format_args!(
        "\n{}\n",
        form::instructions(&portal, &way, &scopes)
    ));
    let (way, keys) = match way {
        WayIn::Browser { .. } => (way, Some(questions::keys()?)),
        WayIn::Webhook { .. } => (
            WayIn::Webhook {
                url: questions::webhook()?,
            },
            None,
        ),
        WayIn::Install { .. } => (way, None),
    };
    Ok(Answers { portal, way, keys })
}
