mod after_auth;
mod authorize;
mod core;
mod failure_paths;
mod fleet;
mod install_listen;
mod pages;
mod reliability;
