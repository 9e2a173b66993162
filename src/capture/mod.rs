/*!
How a first pair arrives: the browser flow of `authorize` ([`authorize`]), a pair another tool
kept, adopted by `import` ([`import`]), the HTTP listener
both flows (and `serve`) use ([`listener`]), the OAuth redirect and the pasted URL
([`redirect`]), the installation callback and its verification ([`install`]), the pages the
browser shows ([`pages`]), the listen addresses ([`address`]) and the listeners' descriptor
budget ([`slots`]).
*/

pub(crate) mod address;
pub(crate) mod authorize;
pub(crate) mod import;
pub(crate) mod install;
pub(crate) mod listener;
pub(crate) mod pages;
pub(crate) mod redirect;
pub(crate) mod slots;
