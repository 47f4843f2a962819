//! Facts the generated code reads off a field's value without a bound on its type, by autoref
//! specialisation: `(&Probe(&value)).method()` finds the impl on `Probe<T>` where `T` has the
//! capability, and falls back to the impl on `&Probe<T>` for every other type.

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
