mod authorize;
mod core;
mod fleet;
mod install_listen;
