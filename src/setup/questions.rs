/*!
The questions `setup` asks on the terminal (dialoguer, on stderr): each returns a checked answer
or the terminal's error. No question echoes a secret.
*/

use std::net::SocketAddr;

use anyhow::Result;
use dialoguer::{Input, MultiSelect, Password, Select};
use url::Url;

use super::answers::{Keys, SCOPES};
use crate::secret::Secret;

/// The portal's address, checked by `check` (the same check as `authorize --domain`).
pub(crate) fn portal(check: &dyn Fn(&str) -> Result<Url>) -> Result<Url> {
    let typed: String = Input::new()
        .with_prompt("Your Bitrix24 address (e.g. yourcompany.bitrix24.com)")
        .validate_with(|s: &String| {
            check(s.trim())
                .map(|_| ())
                .map_err(|e| answer_words(&e.to_string()))
        })
        .interact_text()?;
    check(typed.trim())
}

/// `authorize --domain`'s message in the words of the prompt: no `--domain` was typed here.
fn answer_words(message: &str) -> String {
    message.replacen("--domain `", "`", 1).replace(
        "pass only the portal's address, e.g. --domain ",
        "type only the portal's address, e.g. ",
    )
}

/// 0: the browser, 1: the installation callback, 2: an incoming webhook.
pub(crate) fn way() -> Result<usize> {
    Ok(Select::new()
        .with_prompt("How should b24auth get in? (arrows, then Enter)")
        .items(&[
            "A local app you approve in this browser — no public address needed (recommended)",
            "A \"Uses API only\" local app whose installation b24auth catches — needs a public https address (a tunnel or reverse proxy)",
            "An incoming webhook — one address with a secret in it, no app",
        ])
        .default(0)
        .interact()?)
}

/// What the scripts may reach, in plain words; CRM and users ticked to start with.
pub(crate) fn scopes() -> Result<Vec<&'static str>> {
    let items: Vec<String> = SCOPES
        .iter()
        .map(|(name, what)| format!("{what} ({name})"))
        .collect();
    let ticked: Vec<bool> = SCOPES
        .iter()
        .map(|(name, _)| matches!(*name, "crm" | "user"))
        .collect();
    let chosen = MultiSelect::new()
        .with_prompt("What may your scripts reach? (Space ticks, Enter goes on)")
        .items(&items)
        .defaults(&ticked)
        .interact()?;
    Ok(chosen.into_iter().map(|i| SCOPES[i].0).collect())
}

/// Where `authorize` listens for the browser's return: the handler path to register.
pub(crate) fn redirect_uri() -> Result<Url> {
    let typed: String = Input::new()
        .with_prompt("The handler path b24auth listens on (Enter keeps it)")
        .default("http://127.0.0.1:8787/callback".into())
        .validate_with(|s: &String| loopback_url(s.trim()).map(|_| ()))
        .interact_text()?;
    loopback_url(typed.trim()).map_err(anyhow::Error::msg)
}

/// A handler path on this machine: the browser comes back there and b24auth must listen on it.
fn loopback_url(s: &str) -> Result<Url, String> {
    let url = crate::cli::http_url(s)?;
    match crate::bitrix::server::is_loopback(&url) {
        true => Ok(url),
        false => Err(format!(
            "b24auth listens only on this machine: use http://127.0.0.1:PORT/… or http://localhost:PORT/… (for a tunnel's address, run `b24auth authorize --redirect-uri {url}` later instead)"
        )),
    }
}

/// How Bitrix24's servers reach `install-listen`: the address to listen on and the public URL
/// (none when the portal reaches this machine directly).
pub(crate) fn reach() -> Result<(SocketAddr, Option<Url>)> {
    let how = Select::new()
        .with_prompt("How will Bitrix24's servers reach this machine?")
        .items(&[
            "Through a tunnel to 127.0.0.1:8787 (cloudflared, ngrok, ssh -R, …)",
            "Through a reverse proxy of a public site (nginx: location /install/ { proxy_pass http://127.0.0.1:8787; })",
            "Directly: an on-premise portal on this network reaches this machine on port 8787",
        ])
        .default(0)
        .interact()?;
    if how == 2 {
        return Ok((listen("The address to listen on", "0.0.0.0:8787")?, None));
    }
    let typed: String = Input::new()
        .with_prompt("Its public https address (e.g. https://hooks.example.com)")
        .validate_with(|s: &String| crate::cli::http_url(s.trim()).map(|_| ()))
        .interact_text()?;
    let url = crate::cli::http_url(typed.trim()).map_err(anyhow::Error::msg)?;
    let local = listen(
        "The local address it forwards to (Enter keeps it)",
        "127.0.0.1:8787",
    )?;
    Ok((local, Some(url)))
}

/// A `--listen` address, `default` kept on Enter.
fn listen(prompt: &str, default: &str) -> Result<SocketAddr> {
    let check = crate::capture::address::listen_addr;
    let typed: String = Input::new()
        .with_prompt(prompt)
        .default(default.into())
        .validate_with(|s: &String| check(s.trim()).map(|_| ()))
        .interact_text()?;
    check(typed.trim()).map_err(anyhow::Error::msg)
}

/// The app's keys from its form; the secret is not echoed.
pub(crate) fn keys() -> Result<Keys> {
    let client_id: String = Input::new()
        .with_prompt("Application ID (client_id)")
        .allow_empty(true)
        .validate_with(|s: &String| match s.trim() {
            "" => {
                Err("the Application ID is required: paste it, e.g. local.5f1b2c3d4e5f60.12345678")
            }
            t if t.contains(char::is_whitespace) => Err("an Application ID has no spaces"),
            _ => Ok(()),
        })
        .interact_text()?;
    let client_secret = Password::new()
        .with_prompt("Application key (client_secret, hidden)")
        .allow_empty_password(true)
        .validate_with(|s: &String| match s.trim() {
            "" => Err("the Application key is required: paste it from the app's form"),
            _ => Ok(()),
        })
        .interact()?;
    Ok(Keys {
        client_id: client_id.trim().to_string(),
        client_secret: Secret::new(client_secret.trim()),
    })
}

/// The incoming webhook's address, hidden: it holds the webhook's secret.
pub(crate) fn webhook() -> Result<Secret> {
    let url = Password::new()
        .with_prompt("Webhook address (hidden)")
        .interact()?;
    Ok(Secret::new(url.trim()))
}
