//! [`Few`]: a short list that keeps a single element in place.
//!
//! Most receivables are paid by one payment and most payments pay one
//! receivable, for the account's whole life: a `Vec` would take a heap
//! block (and its allocator overhead) for that one element. `Few` holds it
//! inline and spills to an exactly sized `Vec` from the second on. It reads
//! as a slice (`Deref<Target = [T]>`) and serializes as a sequence, as the
//! `Vec` it replaces did.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list of elements in order: one in place, more on the heap. See the
/// [module docs](self).
#[derive(Clone)]
pub struct Few<T>(Repr<T>);

/// `Many` holds no element or at least two, so each list has one form.
#[derive(Clone)]
enum Repr<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Few<T> {
    /// An empty list (allocates nothing).
    pub const fn new() -> Self {
        Self(Repr::Many(Vec::new()))
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::One(one) => std::slice::from_ref(one),
            Repr::Many(many) => many,
        }
    }

    /// Appends `value`. The heap block grows by one element at a time:
    /// these lists stay short.
    pub fn push(&mut self, value: T) {
        match &mut self.0 {
            Repr::Many(many) if many.is_empty() => self.0 = Repr::One(value),
            Repr::Many(many) => {
                many.reserve_exact(1);
                many.push(value);
            }
            Repr::One(_) => {
                let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Many(Vec::new()))
                else {
                    unreachable!("matched One above")
                };
                // `vec!` of two allocates exactly two.
                self.0 = Repr::Many(vec![first, value]);
            }
        }
    }
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'a, T> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(mut values: Vec<T>) -> Self {
        if values.len() == 1 {
            return Self(Repr::One(values.pop().expect("one element")));
        }
        values.shrink_to_fit();
        Self(Repr::Many(values))
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for Few<T> {}

impl<T: PartialEq> PartialEq<Vec<T>> for Few<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: fmt::Debug> fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: Serialize> Serialize for Few<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Few<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use credence_events::{EventId, ReceivableId};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::Few;

    proptest! {
        /// Pushing, reading, comparing and serializing agree with a `Vec`
        /// of the same elements.
        #[test]
        fn behaves_like_a_vec(values in proptest::collection::vec(any::<u32>(), 0..12), split in 0usize..12) {
            let split = split.min(values.len());
            let mut few: Few<u32> = values[..split].iter().copied().collect();
            for &v in &values[split..] {
                few.push(v);
            }
            prop_assert_eq!(few.as_slice(), values.as_slice());
            prop_assert!(few == values);
            prop_assert_eq!(few.clone(), Few::from(values.clone()));
            prop_assert_eq!(few.iter().count(), values.len());
            let json = serde_json::to_string(&few).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&values).unwrap());
            let back: Few<u32> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, few.clone());
            prop_assert_eq!(format!("{few:?}"), format!("{values:?}"));
        }
    }

    #[test]
    fn one_element_takes_no_heap_block_and_no_more_room_than_a_vec() {
        let mut ids = Few::new();
        ids.push(EventId::from_u128(1));
        assert!(matches!(ids.0, super::Repr::One(_)));
        assert_eq!(
            std::mem::size_of::<Few<EventId>>(),
            std::mem::size_of::<Vec<EventId>>()
        );
        // An allocation (receivable id and amount) is larger than a `Vec`:
        // in place it costs its own size, against a `Vec` and a heap block.
        assert!(
            std::mem::size_of::<Few<(ReceivableId, Decimal)>>()
                <= std::mem::size_of::<(ReceivableId, Decimal)>() + 8
        );
    }
}
