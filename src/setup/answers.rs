/*!
What a `setup` run learned from the user: the portal, the way in and the keys. The commands
layer turns it into the run of an existing flow (`authorize`, `install-listen`,
`import --webhook`).
*/

use std::net::SocketAddr;

use url::Url;

use crate::secret::Secret;

/// How the first token is obtained.
pub(crate) enum WayIn {
    /// A local app whose sign-in runs in this machine's browser; the portal sends the browser
    /// back to `redirect_uri`, where `authorize` listens.
    Browser { redirect_uri: Url },
    /// A "Uses API only" local app whose installation callback `install-listen` catches on
    /// `listen`, reached by Bitrix24 at `public_url` + `path`.
    Install {
        listen: SocketAddr,
        public_url: Option<Url>,
        path: String,
    },
    /// An incoming webhook: its address is the credential.
    Webhook { url: Secret },
}

pub(crate) struct Answers {
    /// The portal's origin, e.g. `https://portal.bitrix24.com`.
    pub portal: Url,
    pub way: WayIn,
    /// The app's keys, when the way has them before the flow runs (the browser way).
    pub keys: Option<Keys>,
}

pub(crate) struct Keys {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Permissions offered in plain words: (Bitrix24's scope name, what it lets a script reach).
pub(crate) const SCOPES: &[(&str, &str)] = &[
    ("crm", "CRM: leads, deals, contacts, companies"),
    ("user", "users: who is who, names, e-mail addresses"),
    ("task", "tasks"),
    ("disk", "Drive: files and folders"),
    ("im", "chats and notifications"),
    ("calendar", "calendars"),
    ("department", "departments"),
    ("catalog", "the product catalog"),
    ("bizproc", "workflows (business processes)"),
    ("lists", "lists"),
    ("sonet_group", "workgroups and projects"),
];
