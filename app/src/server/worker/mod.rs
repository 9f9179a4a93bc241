//! Background work.

pub mod alerts;
pub mod delivery;
