//! One pair, many clients: `exec`'s variables, `import`, `show --format`,
//! `--on-refresh`, and the recipes in `examples/` run against the stand-in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::support::cli::{Env, BIN};
use crate::support::sdk_env::{self, EXAMPLES};
use crate::support::stand_in::{StandIn, CLIENT_ID, CLIENT_SECRET, LEADS, MEMBER_ID};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn env_lines(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn exec_hands_the_child_everything_a_nested_b24auth_needs() {
    let s = StandIn::start();
    let env = Env::new();
    // A named profile chosen by flags only: the child must find it without them.
    let dir = env.dir.to_str().unwrap().to_string();
    let mut c = env.cmd(&["--config-dir", &dir, "--profile", "p1", "show", "--path"]);
    c.env_remove("B24AUTH_CONFIG_DIR");
    let path = Env::run_cmd(&mut c).assert_ok().stdout.trim().to_string();
    env.seed(&s, 3600);
    std::fs::create_dir_all(env.dir.join("profiles")).unwrap();
    std::fs::rename(env.auth_path(), &path).unwrap();
    let mut auth: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    auth["application_token"] = "app-token-9".into();
    std::fs::write(&path, serde_json::to_vec(&auth).unwrap()).unwrap();

    let script = format!("env | grep '^B24'; echo NESTED=$({BIN} token)");
    let mut c = env.cmd(&[
        "--config-dir",
        &dir,
        "--profile",
        "p1",
        "exec",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    c.env_remove("B24AUTH_CONFIG_DIR");
    let run = Env::run_cmd(&mut c);
    let vars = env_lines(&run.assert_ok().stdout);
    let want = [
        (
            "B24_ACCESS_TOKEN",
            auth["access_token"].as_str().unwrap().to_string(),
        ),
        (
            "B24_CLIENT_ENDPOINT",
            auth["client_endpoint"].as_str().unwrap().into(),
        ),
        ("B24_MEMBER_ID", MEMBER_ID.into()),
        ("B24_EXPIRES", auth["expires"].to_string()),
        ("B24_DOMAIN", s.host()),
        (
            "B24_SERVER_ENDPOINT",
            auth["server_endpoint"].as_str().unwrap().into(),
        ),
        ("B24_APPLICATION_TOKEN", "app-token-9".into()),
        ("B24AUTH_PROFILE", "p1".into()),
        ("B24AUTH_CONFIG_DIR", dir.clone()),
        ("B24AUTH_STORE", "file".into()),
        ("NESTED", auth["access_token"].as_str().unwrap().into()),
    ];
    for (k, v) in want {
        assert_eq!(vars.get(k), Some(&v), "{k} in {vars:?}");
    }
    assert_eq!(s.counters().token_calls, 0);
}

#[test]
fn exec_min_ttl_refreshes_a_token_that_would_expire_too_soon() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 120);
    env.run(&["exec", "--", "true"]).assert_ok();
    assert_eq!(
        s.counters().refreshes,
        0,
        "120 s left is enough for the default 60"
    );
    let run = env.run(&[
        "exec",
        "--min-ttl",
        "300",
        "--",
        "sh",
        "-c",
        "echo $B24_EXPIRES",
    ]);
    assert_eq!(s.counters().refreshes, 1);
    let expires: i64 = run.assert_ok().stdout.trim().parse().unwrap();
    assert!(
        expires - now() > 300,
        "the child's token lives past --min-ttl"
    );
}

#[test]
fn show_format_env_and_crest() {
    let s = StandIn::start();
    let env = Env::new();
    let doc = env.seed(&s, 3600);
    let run = env.run(&["show", "--format", "env"]);
    let vars = env_lines(&run.assert_ok().stdout);
    assert_eq!(
        vars["B24_ACCESS_TOKEN"],
        doc["access_token"].as_str().unwrap()
    );
    assert_eq!(vars["B24_DOMAIN"], s.host());
    assert_eq!(vars["B24AUTH_PROFILE"], "default");
    assert!(
        !run.stdout.contains(CLIENT_SECRET),
        "no client secret in the env file"
    );
    assert!(run.stdout.lines().all(|l| l.contains('=')));

    let crest: Value =
        serde_json::from_str(&env.run(&["show", "--format", "crest"]).stdout).unwrap();
    assert_eq!(crest["domain"], s.host(), "CRest's domain is the portal");
    assert_eq!(crest["access_token"], doc["access_token"]);
    assert_eq!(crest["refresh_token"], doc["refresh_token"]);
    assert_eq!(crest["client_endpoint"], doc["client_endpoint"]);
    assert_eq!(crest["C_REST_CLIENT_ID"], CLIENT_ID);
    assert_eq!(crest["C_REST_CLIENT_SECRET"], CLIENT_SECRET);
    assert!(crest.get("b24auth").is_none());
    assert_eq!(env.run(&["show", "--format", "env", "--json"]).code, 2);
}

#[test]
fn on_refresh_runs_after_the_save_outside_stdout_and_its_failure_is_a_warning() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 10);
    let log = env.tmp.path().join("hook.log");
    let hook = format!(
        "echo to-stdout; echo \"$B24_ACCESS_TOKEN $B24_EXPIRES $B24AUTH_PROFILE ${{B24AUTH_CLIENT_SECRET:-none}}\" >> {}",
        log.display()
    );
    let run = Env::run_cmd(
        env.cmd(&["token"])
            .env("B24AUTH_ON_REFRESH", &hook)
            .env("B24AUTH_CLIENT_SECRET", CLIENT_SECRET),
    );
    let token = env.auth()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        run.assert_ok().stdout,
        format!("{token}\n"),
        "the hook's stdout is not data"
    );
    assert!(run.stderr.contains("to-stdout"));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged,
        format!("{token} {} default none\n", env.auth()["expires"]),
        "the hook sees the saved pair, and not the client secret"
    );
    // No refresh, no hook.
    Env::run_cmd(env.cmd(&["token"]).env("B24AUTH_ON_REFRESH", &hook)).assert_ok();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), logged);
    // A failing hook: a warning, and the refresh stands.
    let run = env.run(&["--on-refresh", "exit 3", "refresh"]);
    run.assert_ok();
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("--on-refresh"),
        "{}",
        run.stderr
    );
    assert_eq!(s.counters().refreshes, 2);
    assert_ne!(env.auth()["access_token"].as_str().unwrap(), token);
    // The hook runs once the lock is released (a refresh inside it would wait 30 s and exit 4),
    // and a b24auth inside the hook does not run the hook again.
    let nested = format!("{BIN} refresh && echo nested >> {}", log.display());
    let run = Env::run_cmd(env.cmd(&["refresh"]).env("B24AUTH_ON_REFRESH", &nested));
    assert!(
        !run.assert_ok().stderr.contains("warning"),
        "{}",
        run.stderr
    );
    assert_eq!(
        s.counters().refreshes,
        4,
        "the command's refresh and the hook's, no more"
    );
    assert!(std::fs::read_to_string(&log).unwrap().ends_with("nested\n"));
}

/// A pair written the way each tool writes it, from a pair the stand-in issued.
fn foreign_file(s: &StandIn, format: &str, expires_in: i64) -> Value {
    let pair = s.issue_pair();
    let expires = now() + expires_in;
    let text = |k: &str| pair[k].as_str().unwrap().to_string();
    match format {
        // The install callback's `auth` as PHP's json_encode($_REQUEST['auth']) writes it.
        "php" => json!({"access_token": text("access_token"), "expires": expires.to_string(),
            "expires_in": "3600", "scope": "crm,user", "domain": s.host(),
            "server_endpoint": text("server_endpoint"), "status": "L",
            "client_endpoint": text("client_endpoint"), "member_id": MEMBER_ID, "user_id": "1",
            "refresh_token": text("refresh_token"), "application_token": "apt-1"}),
        "crest" => json!({"access_token": text("access_token"), "expires_in": "3600",
            "expires": expires, "application_token": "apt-1", "refresh_token": text("refresh_token"),
            "domain": s.host(), "client_endpoint": text("client_endpoint"), "member_id": MEMBER_ID,
            "C_REST_CLIENT_ID": CLIENT_ID, "C_REST_CLIENT_SECRET": CLIENT_SECRET}),
        "php-sdk" => json!({"auth_token": {"access_token": text("access_token"),
            "refresh_token": text("refresh_token"), "expires": expires},
            "domain_url": format!("http://{}", s.host()), "application_token": "apt-1",
            "oauth_server_url": "https://oauth.bitrix.info"}),
        "b24auth" => {
            let mut doc = pair.clone();
            doc["expires"] = expires.into();
            doc["client_id"] = CLIENT_ID.into();
            doc["client_secret"] = CLIENT_SECRET.into();
            doc["b24auth"] = json!({"version": 1, "source": "install", "oauth_server": s.base});
            doc
        }
        _ => unreachable!(),
    }
}

/// Imports `file` into a fresh config dir, then `token` and `call profile` must work.
fn import_then_use(s: &StandIn, format: &str, expires_in: i64, with_creds: bool) -> Env {
    let env = Env::new();
    let file = env.tmp.path().join("pair.json");
    std::fs::write(&file, foreign_file(s, format, expires_in).to_string()).unwrap();
    let mut c = if with_creds {
        env.app_cmd(s, &["import", file.to_str().unwrap()])
    } else {
        let mut c = env.cmd(&["import", file.to_str().unwrap()]);
        c.env("B24AUTH_OAUTH_SERVER", &s.base);
        c
    };
    let run = Env::run_cmd(&mut c);
    assert!(
        run.assert_ok().stderr.contains("imported"),
        "{}",
        run.stderr
    );
    let stored = env.auth();
    assert_eq!(stored["member_id"], MEMBER_ID, "{format}");
    assert_eq!(stored["b24auth"]["portal"], s.host(), "{format}");
    assert_eq!(stored["client_id"], CLIENT_ID, "{format}");
    let token = env.run(&["token"]);
    assert_eq!(
        token.assert_ok().stdout.trim(),
        stored["access_token"].as_str().unwrap()
    );
    let call = env.run(&["call", "profile", "--result"]);
    let profile: Value = serde_json::from_str(&call.assert_ok().stdout).unwrap();
    assert_eq!(profile["ID"], "1", "{format}");
    env
}

#[test]
fn import_the_php_examples_auth_json() {
    let s = StandIn::start();
    let env = import_then_use(&s, "php", 3600, true);
    assert_eq!(env.auth()["application_token"], "apt-1");
    assert_eq!(env.auth()["b24auth"]["source"], "import");
    assert_eq!(s.counters().app_info_server, 1, "verified with app.info");
    assert_eq!(s.counters().refreshes, 0);
}

#[test]
fn import_crests_settings_json_with_its_client_keys_refreshing_an_expired_pair() {
    let s = StandIn::start();
    // No B24AUTH_CLIENT_* given: the refresh works with the keys from the file.
    let env = import_then_use(&s, "crest", -10, false);
    assert_eq!(
        s.counters().refreshes,
        1,
        "an expired pair is refreshed first"
    );
    assert_eq!(env.auth()["client_secret"], CLIENT_SECRET);
    assert!(env.auth().get("C_REST_CLIENT_SECRET").is_none());
}

#[test]
fn import_the_php_sdks_nested_file() {
    let s = StandIn::start();
    // Fresh: the portal comes from domain_url, member_id from the trusted server's app.info.
    let env = Env::new();
    let file = env.tmp.path().join("auth.json");
    std::fs::write(&file, foreign_file(&s, "php-sdk", 3600).to_string()).unwrap();
    Env::run_cmd(&mut env.app_cmd(&s, &["import", file.to_str().unwrap()])).assert_ok();
    assert_eq!(env.auth()["member_id"], MEMBER_ID);
    assert_eq!(
        env.auth()["client_endpoint"],
        format!("http://{}/rest/", s.host())
    );
    env.run(&["token"]).assert_ok();
    // Expired: refreshed first, and the trusted server's answer names the REST endpoint.
    import_then_use(&s, "php-sdk", -10, true);
}

#[test]
fn import_b24auths_own_json_from_stdin_under_another_profile() {
    let s = StandIn::start();
    let env = import_then_use(&s, "b24auth", 3600, true);
    let mut c = env.app_cmd(&s, &["--profile", "copy", "import", "-"]);
    let other = foreign_file(&s, "b24auth", 3600);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), other.to_string().as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait_with_output().unwrap().status.success());
    let token = env.run(&["--profile", "copy", "token"]);
    assert_eq!(
        token.assert_ok().stdout.trim(),
        other["access_token"].as_str().unwrap()
    );
}

#[test]
fn import_refuses_a_forged_pair_and_an_existing_profile() {
    let s = StandIn::start();
    let env = Env::new();
    let file = env.tmp.path().join("pair.json");
    let mut forged = foreign_file(&s, "php", 3600);
    forged["access_token"] = "0123456789abcdef0123456789abcdef".into();
    std::fs::write(&file, forged.to_string()).unwrap();
    let path = file.to_str().unwrap();
    let run = Env::run_cmd(&mut env.app_cmd(&s, &["import", path]));
    assert!(
        run.assert_error(3).contains("verification"),
        "{}",
        run.stderr
    );
    assert!(!env.auth_path().exists(), "nothing saved");
    // --no-verify saves without asking.
    Env::run_cmd(&mut env.app_cmd(&s, &["import", "--no-verify", path])).assert_ok();
    assert_eq!(
        s.counters().app_info_server,
        1,
        "only the first import asked app.info"
    );
    std::fs::write(&file, foreign_file(&s, "php", 3600).to_string()).unwrap();
    let again = Env::run_cmd(&mut env.app_cmd(&s, &["import", path]));
    assert!(
        again.assert_error(2).contains("--force"),
        "{}",
        again.stderr
    );
    Env::run_cmd(&mut env.app_cmd(&s, &["import", "--force", path])).assert_ok();
    let garbage = env.tmp.path().join("garbage.json");
    std::fs::write(&garbage, "{\"hello\": 1}").unwrap();
    let bad = Env::run_cmd(&mut env.app_cmd(&s, &["import", "--force", garbage.to_str().unwrap()]));
    assert!(
        bad.assert_error(1).contains("access_token"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_stand_in_takes_paths_as_sdks_send_them() {
    use crate::support::stand_in::sdk::portal_method;
    assert_eq!(
        portal_method("/portal/rest//user.current").unwrap(),
        "user.current"
    );
    assert_eq!(
        portal_method("/portal/rest/crm.lead.list.json").unwrap(),
        "crm.lead.list"
    );
    assert_eq!(portal_method("/rest/app.info"), None);
}

/// A command for a recipe: `b24auth` on PATH, the profile in `env`'s config dir, none of the
/// developer's own `B24AUTH_*`.
fn recipe_cmd(env: &Env, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("B24AUTH_") {
            c.env_remove(k);
        }
    }
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.env("PATH", path)
        .env("B24AUTH_CONFIG_DIR", &env.dir)
        .env("B24AUTH_HTTP_TIMEOUT", "5s")
        .stdin(Stdio::null());
    c
}

fn example(path: &str) -> PathBuf {
    Path::new(EXAMPLES).join(path)
}

/// A stored pair whose access token the portal already refuses (b24auth's clock says it has an
/// hour left): the recipe must report it with `--rejected` and go on with the new one.
fn refused_pair() -> (StandIn, Env) {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.expire_access_tokens();
    (s, env)
}

fn assert_all_leads(stdout: &str, in_order: bool) {
    let id = |line: &str| -> usize {
        let lead: Value = serde_json::from_str(line).unwrap();
        lead["ID"].as_str().unwrap().parse().unwrap()
    };
    let mut ids: Vec<usize> = stdout.lines().map(id).collect();
    if !in_order {
        ids.sort_unstable();
    }
    assert_eq!(ids, (1..=LEADS).collect::<Vec<_>>(), "every lead once");
}

#[test]
fn recipe_shell_and_curl_exports_every_lead_through_a_refused_token() {
    let (s, env) = refused_pair();
    let run = Env::run_cmd(recipe_cmd(&env, "sh").arg(example("shell/leads.sh")));
    assert_all_leads(&run.assert_ok().stdout, true);
    assert_eq!(s.counters().refreshes, 1);
    assert_eq!(
        s.counters().rest_calls,
        4,
        "the refused call, then three pages"
    );
}

#[test]
fn recipe_php_curl_reads_the_token_with_token_json() {
    let (s, env) = refused_pair();
    let run = Env::run_cmd(recipe_cmd(&env, "php").arg(example("php/call.php")));
    let profile: Value = serde_json::from_str(&run.assert_ok().stdout).unwrap();
    assert_eq!(profile["NAME"], "Stand");
    assert_eq!(s.counters().refreshes, 1);
    let page = Env::run_cmd(recipe_cmd(&env, "php").args([
        example("php/call.php").to_str().unwrap(),
        "crm.lead.list",
        r#"{"start":100}"#,
    ]));
    let leads: Value = serde_json::from_str(&page.assert_ok().stdout).unwrap();
    assert_eq!(leads.as_array().unwrap().len(), LEADS - 100);
    assert_eq!(s.counters().refreshes, 1);
}

#[test]
fn recipe_fast_bitrix24_three_exports_one_refresh_no_loop() {
    let Some(python) = sdk_env::python("fast-bitrix24") else {
        return;
    };
    let (s, env) = refused_pair();
    let children: Vec<_> = (0..3)
        .map(|_| {
            recipe_cmd(&env, &python)
                .arg(example("fast-bitrix24/export_leads.py"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        // fast-bitrix24 de-duplicates through a set: the order is its own.
        assert_all_leads(&String::from_utf8_lossy(&out.stdout), false);
    }
    let c = s.counters();
    assert_eq!(c.refreshes, 1, "three clients, one refresh");
    assert_eq!(c.token_calls, 1);
    // Each export: the refused call, the first page again, one batch of two pages.
    assert!(
        c.rest_calls <= 3 * 5,
        "no loop: {} REST calls",
        c.rest_calls
    );
}

#[test]
fn recipe_b24pysdk_token_object_renews_through_b24auth() {
    let Some(python) = sdk_env::python("b24pysdk") else {
        return;
    };
    let (s, env) = refused_pair();
    // b24pysdk calls https://DOMAIN/rest/, as a real portal serves it; the stand-in's portal
    // is plain http under /portal/rest/. A test-only `sitecustomize` maps one to the other at
    // `requests.post`, so the recipe itself uses only the SDK's public API.
    let shim = env.tmp.path().join("pyshim");
    std::fs::create_dir_all(&shim).unwrap();
    std::fs::write(
        shim.join("sitecustomize.py"),
        "import os, requests\n\
         _post, _from, _to = requests.post, os.environ['SHIM_FROM'], os.environ['SHIM_TO']\n\
         def post(url, *a, **k):\n    \
             return _post(_to + url[len(_from):] if url.startswith(_from) else url, *a, **k)\n\
         requests.post = post\n",
    )
    .unwrap();
    let run = Env::run_cmd(
        recipe_cmd(&env, &python)
            .arg(example("b24pysdk/b24auth_token.py"))
            .arg("profile")
            .env("PYTHONPATH", &shim)
            .env("SHIM_FROM", format!("https://{}/rest/", s.host()))
            .env("SHIM_TO", format!("{}/portal/rest/", s.base)),
    );
    assert!(
        run.assert_ok().stdout.contains("'NAME': 'Stand'"),
        "{}",
        run.stdout
    );
    assert_eq!(s.counters().refreshes, 1);
    let stored = env.auth()["access_token"].as_str().unwrap().to_string();
    assert!(
        s.access_token_is_valid(&stored),
        "b24auth holds the live pair"
    );
}

#[test]
fn recipe_b24jssdk_custom_refresh_asks_b24auth() {
    let Some(dir) = sdk_env::node("b24jssdk") else {
        return;
    };
    let (s, env) = refused_pair();
    let run = Env::run_cmd(
        recipe_cmd(&env, "node")
            .arg("call.mjs")
            .arg("profile")
            .current_dir(&dir),
    );
    let profile: Value = serde_json::from_str(run.assert_ok().stdout.trim()).unwrap();
    assert_eq!(profile["NAME"], "Stand");
    assert_eq!(s.counters().refreshes, 1);
}

/// No recipe reads what b24auth keeps to itself (the refresh token, the client secret), nor
/// reaches into an SDK's private parts; each says how to install and run it.
#[test]
fn recipes_use_only_the_token_and_public_hooks() {
    for path in [
        "shell/leads.sh",
        "php/call.php",
        "fast-bitrix24/export_leads.py",
        "b24pysdk/b24auth_token.py",
        "b24jssdk/call.mjs",
    ] {
        let text = std::fs::read_to_string(example(path)).unwrap();
        for bad in [
            "'show', '--json'",
            "\"show\", \"--json\"",
            "show --json",
            "--reveal",
            "--field refresh_token",
            "--field client_secret",
            "._M",
            "_base_url",
        ] {
            assert!(!text.contains(bad), "examples/{path} holds `{bad}`");
        }
        assert!(
            text.contains("Install:") && text.contains("Run:"),
            "examples/{path}"
        );
    }
}
