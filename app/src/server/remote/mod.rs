//! Calls to other systems: the guarded outbound client and the Explodely API.

pub mod explodely;
pub mod outbound;
pub mod smtp;
