//! Facts the generated code reads off a field's value without a bound on its type, by autoref
//! specialisation: `(&Probe(&value)).method()` finds the impl on `Probe<T>` where `T` has the
//! capability, and falls back to the impl on `&Probe<T>` for every other type.

use std::marker::PhantomData;

/// A field's value, borrowed for a probe.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// Types whose size on the wire grows with their length: text, bytes, arrays.
pub trait WireLen {
    /// About how many bytes the value takes in a statement.
    fn wire_len(&self) -> usize;
}

impl WireLen for str {
    fn wire_len(&self) -> usize {
        self.len()
    }
}

impl WireLen for String {
    fn wire_len(&self) -> usize {
        self.len()
    }
}

/// Numbers and flags: their size in memory, the most their binary encoding takes. Listed
/// here so that measuring them (`LengthOn`) does not encode them.
macro_rules! fixed_wire_len {
    ($($ty:ty),*) => {$(
        impl WireLen for $ty {
            fn wire_len(&self) -> usize {
                std::mem::size_of::<$ty>()
            }
        }
    )*};
}

fixed_wire_len!(bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl<T> WireLen for [T] {
    fn wire_len(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

impl<T> WireLen for Vec<T> {
    fn wire_len(&self) -> usize {
        self.as_slice().wire_len()
    }
}

impl<T: WireLen + ?Sized> WireLen for Box<T> {
    fn wire_len(&self) -> usize {
        (**self).wire_len()
    }
}

impl<T: WireLen> WireLen for Option<T> {
    fn wire_len(&self) -> usize {
        self.as_ref().map_or(0, WireLen::wire_len)
    }
}

/// The byte size of a value whose length counts.
pub trait ByLength {
    /// About how many bytes the value takes in a statement.
    fn byte_size(&self) -> usize;
}

impl<T: WireLen + ?Sized> ByLength for Probe<'_, T> {
    fn byte_size(&self) -> usize {
        self.0.wire_len()
    }
}

/// The byte size of any other value: its size in memory, a fair bound for numbers, dates and
/// ids.
pub trait BySize {
    /// About how many bytes the value takes in a statement.
    fn byte_size(&self) -> usize;
}

impl<T> BySize for &Probe<'_, T> {
    fn byte_size(&self) -> usize {
        std::mem::size_of::<T>()
    }
}

/// The encoded size of a value whose length counts, where the backend measures values
/// ([`crate::db::Backend::MEASURES_VALUES`]): its length, as [`ByLength`] reads it, without
/// encoding it. `DB` comes from the marker argument.
pub trait LengthOn<DB> {
    /// About how many bytes the value takes in a statement on `DB`.
    fn size_on(&self, db: PhantomData<DB>) -> usize;
}

impl<DB, T: WireLen + ?Sized> LengthOn<DB> for Probe<'_, T> {
    fn size_on(&self, _: PhantomData<DB>) -> usize {
        self.0.wire_len()
    }
}

/// The encoded size of any other value bound as itself: encoded, and measured (a newtype
/// around `String` is as long as its text, not as its size in memory).
pub trait EncodedOn<DB> {
    /// How many bytes the value takes in a statement on `DB`.
    fn size_on(&self, db: PhantomData<DB>) -> usize;
}

impl<DB: crate::db::Backend, T: crate::db::ColumnOf<DB>> EncodedOn<DB> for &Probe<'_, T> {
    fn size_on(&self, _: PhantomData<DB>) -> usize {
        self.0.encoded_len()
    }
}

/// Whether a `get_or_create` key value is NULL: `None` of an `Option` field.
pub trait NullableKey {
    /// Whether the value is SQL NULL.
    fn is_null_key(&self) -> bool;
}

impl<T> NullableKey for Probe<'_, Option<T>> {
    fn is_null_key(&self) -> bool {
        self.0.is_none()
    }
}

/// Every other key value is never NULL.
pub trait NonNullKey {
    /// Whether the value is SQL NULL.
    fn is_null_key(&self) -> bool;
}

impl<T> NonNullKey for &Probe<'_, T> {
    fn is_null_key(&self) -> bool {
        false
    }
}

/// A `get_or_create` key value as an error shows it: its `Debug` form.
pub trait DebugKey {
    /// The value's text.
    fn key_text(&self) -> String;
}

impl<T: std::fmt::Debug> DebugKey for Probe<'_, T> {
    fn key_text(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// A key value without `Debug`: named, not shown.
pub trait OpaqueKey {
    /// The value's text.
    fn key_text(&self) -> String;
}

impl<T> OpaqueKey for &Probe<'_, T> {
    fn key_text(&self) -> String {
        format!("(a `{}`)", std::any::type_name::<T>())
    }
}
