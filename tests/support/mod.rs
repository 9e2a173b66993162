//! Test support: the Bitrix24 stand-in and a runner for the built binary in a temp config dir.

#![allow(dead_code)]

pub mod callbacks;
pub mod cli;
pub mod deployed_pg;
pub mod deps;
pub mod hostile_server;
pub mod http;
pub mod listen;
pub mod outage;
pub mod pg_decoy;
pub mod pgbouncer;
pub mod postgres;
pub mod pty;
pub mod random;
pub mod sdk_env;
pub mod stand_in;
pub mod tls;
