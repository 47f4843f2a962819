//! Application types tests/types.rs and tests/type_matrix.rs store with no attribute: a
//! text-backed enum and a transparent newtype, each deriving `fake::Dummy`.
#![allow(dead_code)] // each test binary uses a different part of this module

use fake::Dummy;

/// A text-backed enum: derive `fake::Dummy` and the factory draws a variant. (On MariaDB its
/// column is `ENUM(..) NULL`: see the README.)
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, Dummy)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Team,
}

/// A transparent newtype, as applications wrap ids and amounts.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, Dummy)]
#[sqlx(transparent)]
pub struct Cents(pub i64);
