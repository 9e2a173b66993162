/*!
Bitrix24 itself, as b24auth speaks to it: the OAuth client ([`oauth`]) and the rule for which
OAuth server may receive the client secret ([`server`]), the error vocabulary and what each code
means for the caller ([`errors`]), bounded answer bodies ([`body`]), the one HTTP client and its certificate trust ([`http`]),
and other tools' pair
formats ([`formats`]). Nothing here knows about the store or the terminal beyond the `-v` log.
*/

pub(crate) mod body;
pub(crate) mod errors;
pub(crate) mod formats;
pub(crate) mod http;
pub(crate) mod oauth;
pub(crate) mod server;
