//! Password hashing, sealing stored secrets, and random tokens.

pub mod passwords;
pub mod secrets;
pub mod tokens;
