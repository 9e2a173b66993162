mod authorize;
mod core;
mod install_listen;
