mod after_auth;
mod authorize;
mod core;
mod fleet;
mod install_listen;
mod interop;
mod reliability;
