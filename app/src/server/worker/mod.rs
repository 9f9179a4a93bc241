//! Background work.

pub mod delivery;
