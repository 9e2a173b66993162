mod after_auth;
mod authorize;
mod batch;
mod core;
mod fleet;
mod install_listen;
mod reliability;
