mod after_auth;
mod authorize;
mod core;
mod fleet;
mod house;
mod install_listen;
mod reliability;
mod stores;
