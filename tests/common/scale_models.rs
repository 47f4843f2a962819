//! The models of tests/scale.rs, which `benches/check_many_databases.rs` checks too: a model of
//! 120 columns besides its key, one of 2, one of 1.
#![allow(dead_code)] // the bench only checks them

use sqlx_factory::Factory;

macro_rules! wide_model {
    ($($column:ident),*) => {
        #[derive(Debug, Clone, sqlx::FromRow, Factory)]
        #[factory(table = "wide")]
        pub struct Wide {
            #[factory(primary_key)]
            pub id: i64,
            $(
                #[factory(sequence = |n| n as i64)]
                pub $column: i64,
            )*
        }

        pub const WIDE_COLUMNS: &[&str] = &[$(stringify!($column)),*];
    };
}

wide_model!(
    c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20,
    c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31, c32, c33, c34, c35, c36, c37, c38, c39,
    c40, c41, c42, c43, c44, c45, c46, c47, c48, c49, c50, c51, c52, c53, c54, c55, c56, c57, c58,
    c59, c60, c61, c62, c63, c64, c65, c66, c67, c68, c69, c70, c71, c72, c73, c74, c75, c76, c77,
    c78, c79, c80, c81, c82, c83, c84, c85, c86, c87, c88, c89, c90, c91, c92, c93, c94, c95, c96,
    c97, c98, c99, c100, c101, c102, c103, c104, c105, c106, c107, c108, c109, c110, c111, c112,
    c113, c114, c115, c116, c117, c118, c119
);

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "big")]
pub struct Big {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(sequence = |n| n as i64)]
    pub n: i64,
    #[factory(sequence = |n| format!("label-{n}"))]
    pub label: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "crowd")]
pub struct Crowd {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(sequence = |n| format!("crowd{n}@example.com"))]
    pub email: String,
}
