/*!
Test support: the Bitrix24 stand-in and a runner for the built binary in a temp config dir.
*/

#![allow(dead_code)]

pub mod batch;
pub mod cli;
pub mod deps;
pub mod hostile;
pub mod http;
pub mod outage;
pub mod pg_decoy;
pub mod pgbouncer;
pub mod postgres;
pub mod pty;
pub mod record;
pub mod sdk_env;
pub mod stand_in;
pub mod stand_in_errors;
pub mod stand_in_events;
pub mod stand_in_frame;
pub mod stand_in_pace;
pub mod stand_in_sdk;
pub mod stand_in_v3;
pub mod tls;
