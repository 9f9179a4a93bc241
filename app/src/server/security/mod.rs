//! Password hashing, sealing stored secrets, and random tokens.

pub mod device;
pub mod login_turns;
pub mod passwords;
pub mod secrets;
pub mod tokens;
