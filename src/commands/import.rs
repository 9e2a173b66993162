/*!
`b24auth import [FILE|-]`: adopt a pair another tool already keeps (the PHP examples'
`auth.json`, CRest's `settings.json`, the PHP SDK's file, b24auth's own JSON), so moving to
b24auth needs no new authorization.

The file is not trusted: an expired pair is refreshed first at the trusted OAuth server, the
pair is verified with `app.info` as an install callback is (`--no-verify` skips it), and it is
saved under the profile lock (`--force` replaces).
*/

use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use serde_json::Value;
use url::Url;

use crate::cli::ImportArgs;
use crate::context::Context;
use crate::exit;
use crate::formats::{parse_pair, Imported};
use crate::oauth::{self, ServerError};
use crate::profile::{now, Profile, Source};
use crate::store::{self, SaveMode, Store};
use crate::ui;

use super::install_listen::check_with_server;

pub fn run(ctx: &Context, args: &ImportArgs) -> Result<()> {
    let (bytes, name) = read_input(&args.file)?;
    let imported = parse_pair(&bytes).map_err(|e| anyhow!("cannot import {name}: {e:#}"))?;
    let store = ctx.store()?;
    ui::block_on(adopt(ctx, &store, args, imported))
}

fn read_input(file: &Path) -> Result<(Vec<u8>, String)> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the pair from stdin")?;
        return Ok((buf, "stdin".into()));
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok((bytes, file.display().to_string()))
}

async fn adopt(ctx: &Context, store: &Store, args: &ImportArgs, imported: Imported) -> Result<()> {
    let mode = super::save_mode(ctx, store, args.force).await?;
    let server =
        oauth::server_for_new_pair(ctx.oauth_server.as_ref(), imported.server_hint.as_deref());
    let http = ctx.oauth_client(server.clone())?;
    let format = imported.format;
    let mut profile = Profile::from_bitrix(imported.fields, Source::Import, now());
    profile.set_client(
        ctx.client_id.as_deref().or(imported.client_id.as_deref()),
        ctx.client_secret
            .as_ref()
            .or(imported.client_secret.as_ref()),
    );
    profile.set_oauth_server(server.as_str());
    let refreshed = !profile.is_fresh(0, now());
    if refreshed {
        profile = refresh(ctx, &http, profile).await?;
    }
    if !args.no_verify {
        verify(&http, &server, &mut profile).await?;
    } else if profile.str("member_id").is_none() {
        ctx.ui
            .warn("the file names no member_id and --no-verify kept b24auth from asking app.info");
    }
    save(ctx, store, &profile, mode, refreshed).await?;
    ctx.ui.info(format_args!(
        "imported {} as profile `{}` for portal {} (member_id {}){} to {}",
        format.describe(),
        ctx.profile,
        profile.portal().unwrap_or_default(),
        profile.str("member_id").unwrap_or("-"),
        if refreshed { ", refreshed first" } else { "" },
        store.location(&ctx.profile)
    ));
    if profile.str("client_id").is_none() || profile.secret("client_secret").is_none() {
        ctx.ui.warn(
            "no client_id/client_secret given or found in the file: `b24auth refresh` will need B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET",
        );
    }
    Ok(())
}

/// An expired pair is refreshed at the trusted server before anything else: its answer (the
/// portal, member_id) comes from Bitrix24, not from the file.
async fn refresh(ctx: &Context, http: &oauth::Client, profile: Profile) -> Result<Profile> {
    let creds = ctx.credentials(Some(&profile))?;
    let response = http
        .refresh(&creds, &profile.refresh_token())
        .await
        .map_err(|e| match e.downcast_ref::<ServerError>() {
            Some(se) if se.needs_reauthorization() => exit::auth_needed(format!(
                "the imported access token has expired and the OAuth server refused its refresh token ({se}): the pair is dead; run `b24auth authorize --domain {}` or `b24auth install-listen`",
                profile.portal().unwrap_or_else(|| "PORTAL".into())
            )),
            _ => e.context("the imported access token has expired and cannot be refreshed; nothing was saved"),
        })?;
    let mut new = profile.refreshed(response, now());
    new.set_client(Some(&creds.id), Some(&creds.secret));
    Ok(new)
}

/// `app.info` on the trusted server, as for an install callback. A file without `member_id`
/// (the PHP SDK's) takes it from the server's answer, checked against the file's portal.
async fn verify(http: &oauth::Client, server: &Url, profile: &mut Profile) -> Result<()> {
    let failed = |e: anyhow::Error| {
        e.context("the imported pair failed verification with the OAuth server's app.info (pass --no-verify to save it anyway); nothing was saved")
    };
    if profile.str("member_id").is_none() {
        let info = http
            .app_info(&server.join("rest/")?, &profile.access_token())
            .await
            .map_err(failed)?;
        let install = info.get("install");
        let field = |k: &str| install.and_then(|i| i.get(k)).and_then(Value::as_str);
        if let (Some(theirs), Some(ours)) = (field("domain"), profile.portal()) {
            if theirs != ours {
                return Err(failed(anyhow!("app.info names another portal ({theirs})")));
            }
        }
        if let Some(member) = field("member_id") {
            profile.set_str("member_id", member);
        }
    }
    check_with_server(http, profile.str("client_id"), server, profile.as_map())
        .await
        .map_err(failed)
}

/// Saves under the profile lock. Once a refresh has rotated the pair the file's copy is dead, so
/// a failed save keeps the new pair in a private rescue file and says how to import it.
async fn save(
    ctx: &Context,
    store: &Store,
    profile: &Profile,
    mode: SaveMode,
    refreshed: bool,
) -> Result<()> {
    let Err(e) = store.save(&ctx.profile, profile, mode).await else {
        return Ok(());
    };
    if !refreshed {
        return Err(e);
    }
    let kept = store::file::keep_rescued(&std::env::temp_dir(), &ctx.profile, profile);
    Err(store::lost_save(e, &ctx.profile, kept, |path| {
        format!("`b24auth import --force {}`", path.display())
    }))
}
