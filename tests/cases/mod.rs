mod authorize;
mod core;
