//! The columns of a model's table, as the generated code lists them, and which of them an
//! INSERT sends: shared by the SQL text, the database writers and the model traits.

/// A column the factory can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name in the table.
    pub name: &'static str,
    /// The name the model's `FromRow` reads it by; RETURNING aliases the column to it when the
    /// two differ (`#[factory(column = "..")]` without `#[sqlx(rename)]`).
    pub from_row_name: &'static str,
    /// The database fills it (`primary_key`, `generated`): sent only when a value is given.
    pub db_filled: bool,
}

/// Which database-filled columns an INSERT sends anyway: bit `k` stands for the `k`-th column
/// whose [`Column::db_filled`] is set. Every other column is always sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColumnSet(u64);

impl ColumnSet {
    /// The most database-filled columns one model may have.
    pub const MAX_DB_FILLED: usize = 64;

    /// Marks the `k`-th database-filled column as sent.
    pub fn with(self, k: usize, sent: bool) -> Self {
        ColumnSet(self.0 | (u64::from(sent) << k))
    }

    /// Whether the `k`-th database-filled column is sent.
    pub fn contains(self, k: usize) -> bool {
        self.0 & (1 << k) != 0
    }
}

/// Iterates the columns an INSERT with `set` sends.
pub(crate) fn sent_columns(
    columns: &'static [Column],
    set: ColumnSet,
) -> impl Iterator<Item = &'static str> {
    let mut db_filled = 0;
    columns.iter().filter_map(move |column| {
        if !column.db_filled {
            return Some(column.name);
        }
        db_filled += 1;
        set.contains(db_filled - 1).then_some(column.name)
    })
}

/// How many values one row binds.
pub(crate) fn binds_per_row(columns: &'static [Column], set: ColumnSet) -> usize {
    sent_columns(columns, set).count()
}
