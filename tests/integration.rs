//! The one integration-test binary: every case runs the built `b24auth` against the stand-in.

mod cases;
mod support;
