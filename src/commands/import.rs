/*!
`b24auth import [FILE|-]`: the file or stdin -> the import flow ([`crate::capture::import`]:
adopt a pair another tool keeps, refreshed, verified and saved under the profile's lock) ->
print. `import --webhook`: the address -> [`crate::rest::webhook`]'s flow.
*/

use std::path::Path;

use anyhow::{anyhow, Result};

use crate::bitrix::formats::parse_pair;
use crate::capture::import::{self, check_values, ImportOptions};
use crate::cli::ImportArgs;
use crate::exit;
use crate::rest::webhook;
use crate::session::Session;
use crate::ui::{hint, input};

pub(crate) async fn run(s: &Session, args: &ImportArgs) -> Result<()> {
    if args.webhook {
        if args.file.as_os_str() != "-" {
            return Err(webhook_argument(&args.file));
        }
        return webhook::save(s, webhook::read(&s.cfg.ui)?, args.force).await;
    }
    let (bytes, name) = read_input(&args.file)?;
    let imported = parse_pair(&bytes).map_err(|e| anyhow!("cannot import {name}: {e:#}"))?;
    check_values(&imported).map_err(|refused| {
        exit::usage(format!(
            "cannot import {name}: {refused}; nothing was saved (fix the file, or authorize again)"
        ))
    })?;
    let file = args.file.to_string_lossy();
    let options = ImportOptions {
        file: &file,
        force: args.force,
        no_verify: args.no_verify,
    };
    let format = imported.format;
    let made = import::adopt(s, &options, imported).await?;
    let cfg = &s.cfg;
    let profile = made.profile;
    cfg.ui.info(format_args!(
        "imported {} as profile `{}` for portal {} (member_id {}){} to {}",
        format.describe(),
        cfg.profile,
        profile.portal().unwrap_or_default(),
        profile.member_id().unwrap_or("-"),
        if made.rotated {
            ", refreshed first"
        } else {
            ""
        },
        s.location()
    ));
    if profile.client_id().is_none() || profile.client_secret().is_none() {
        cfg.ui.warn(
            "no client_id/client_secret given or found in the file: `b24auth refresh` will need B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET",
        );
    }
    Ok(())
}

/// `import --webhook ARG`: refused; an address given there already sits in the shell's history.
fn webhook_argument(arg: &Path) -> anyhow::Error {
    let read = "import --webhook reads the address from stdin or a hidden prompt, never from the command line or a file argument";
    match arg.to_string_lossy().contains("/rest/") {
        true => exit::usage(format!(
            "{read}: nothing saved; the webhook's secret is now in your shell history, so delete that webhook in the portal, create a new one and run {} to type its address hidden",
            hint::cmd(&["import", "--webhook"])
        )),
        false => exit::usage(format!("{read}: drop the argument")),
    }
}

/// The file (a regular file only) or stdin, at most [`input::PAIR_LIMIT`] bytes.
fn read_input(file: &Path) -> Result<(Vec<u8>, String)> {
    if file.as_os_str() == "-" {
        return Ok((
            input::read_stdin(input::PAIR_LIMIT, "stdin")?,
            "stdin".into(),
        ));
    }
    let name = file.display().to_string();
    let bytes = input::read_file(file, input::PAIR_LIMIT, &format!("the file {name}"))?;
    Ok((bytes, name))
}
