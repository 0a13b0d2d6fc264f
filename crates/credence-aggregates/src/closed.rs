//! The account's closed items, frozen into compact records.
//!
//! Most of a customer's history is closed: orders delivered or cancelled,
//! receivables paid, payments whose credit is spent. Commands and policies
//! read the open items, the running totals and the indexes; a closed item
//! is read again only by a query that names it or lists everything, by a
//! reversal that reopens it, and by a snapshot. So the account keeps its
//! open items as values in its maps (changed in place, read for free) and
//! freezes each item as it closes into an [`Archive`]: one heap block per
//! item, the key in front, the other fields after it in the compact
//! [binary shapes](credence_events::binary) of the events crate. A record
//! takes about 50 to 70 bytes where the value took 200 to 300 (the value,
//! its `Arc`, its key stored twice, its order lines in their own block).
//!
//! # Records
//!
//! `[id length][kind][id][fields…]`: the key is the kind byte then the
//! id's UTF-8, so records sort by kind and then by id in the ids' own order
//! (an id compares as its bytes), and a kind's records are one range of
//! the set. Reading an item decodes it, with the validation of the events'
//! decoder.
//!
//! Records never leave the process (snapshots write the items themselves),
//! so they are only read by the build that wrote them: a record that does
//! not decode is a bug, and reading it panics with a message saying so.
//!
//! # Invariants
//!
//! * An item is in the archive exactly when it is closed (see
//!   [`Freeze::is_closed`]); the account's maps hold the others. An id is
//!   never in both.
//! * Equal items give equal records (the encoding is a function of the
//!   value), so accounts folded from the same events hold equal archives.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::ops::Bound;

use credence_events::binary::{Binary, Fault, Reader};
use credence_events::{EventId, MAX_ID_LEN, OrderId, PaymentId, ReceivableId};
use rust_decimal::Decimal;

use crate::account::{DelayExplanation, Order, OrderLineState, OrderStatus, Payment, Receivable};
use crate::few::Few;
use crate::shared::{SharedMap, SharedSet};

/// An item the account freezes once it is closed.
pub(crate) trait Freeze: Sized + Clone + 'static {
    /// The kind byte that starts its records' keys; one per item type.
    const KIND: u8;
    /// What it is called in messages.
    const NAME: &'static str;
    /// Its id type.
    type Id: Ord + Clone;

    /// Its id.
    fn id(&self) -> &Self::Id;
    /// An id as text.
    fn id_text(id: &Self::Id) -> &str;
    /// True once it belongs in the archive.
    fn is_closed(&self) -> bool;
    /// Appends every field but the id.
    fn put_fields(&self, w: &mut Vec<u8>);
    /// Reads what [`put_fields`](Self::put_fields) wrote, for `id`.
    fn get_fields(id: &str, r: &mut Reader<'_>) -> Result<Self, Fault>;
}

/// One frozen item: `[id length][kind][id][fields…]` in one block. Ordered
/// and equal by its key (kind, then id) alone: a set holds one record per
/// key. [`Archive`]'s equality compares the items.
#[derive(Clone)]
pub(crate) struct Record(Box<[u8]>);

impl Record {
    fn encode<V: Freeze>(item: &V) -> Self {
        let id = V::id_text(item.id());
        let mut bytes = Vec::with_capacity(2 + id.len() + 128);
        // Ids are at most `MAX_ID_LEN` (128) bytes.
        bytes.push(u8::try_from(id.len()).expect("an id is at most 128 bytes"));
        bytes.push(V::KIND);
        bytes.extend_from_slice(id.as_bytes());
        item.put_fields(&mut bytes);
        // Copied into a block of its exact size: shrinking the buffer in
        // place would leave its tail as a hole in the heap.
        Self(Box::from(bytes.as_slice()))
    }

    fn key(&self) -> &[u8] {
        &self.0[1..2 + usize::from(self.0[0])]
    }

    fn kind(&self) -> u8 {
        self.0[1]
    }

    fn decode<V: Freeze>(&self) -> V {
        let key = self.key();
        let fields = &self.0[key.len() + 1..];
        let decoded = std::str::from_utf8(&key[1..])
            .map_err(|e| Fault::Invalid(e.to_string()))
            .and_then(|id| {
                let mut r = Reader::new(fields);
                let item = V::get_fields(id, &mut r)?;
                if r.is_at_end() {
                    Ok(item)
                } else {
                    Err(Fault::Invalid("trailing bytes".into()))
                }
            });
        decoded.unwrap_or_else(|e| {
            panic!(
                "a closed {} record does not decode ({e}); records are written and read by the same build",
                V::NAME
            )
        })
    }
}

impl Borrow<[u8]> for Record {
    fn borrow(&self) -> &[u8] {
        self.key()
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Record {}

impl PartialOrd for Record {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Record {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(other.key())
    }
}

/// The key of `id` among the records of kind `V`, built on the stack.
struct Key {
    bytes: [u8; 1 + MAX_ID_LEN],
    len: usize,
}

impl Key {
    /// `None` for an id longer than any valid one: no record has it.
    fn of<V: Freeze>(id: &V::Id) -> Option<Self> {
        let id = V::id_text(id);
        let mut bytes = [0; 1 + MAX_ID_LEN];
        bytes[0] = V::KIND;
        bytes
            .get_mut(1..1 + id.len())?
            .copy_from_slice(id.as_bytes());
        Some(Self {
            bytes,
            len: 1 + id.len(),
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The closed items of an account (see the [module docs](self)). Cloning
/// is O(1) and shares every record: it is a [`SharedSet`].
#[derive(Clone, Default)]
pub(crate) struct Archive(SharedSet<Record>);

impl Archive {
    /// Freezes `item`, replacing a record with its id.
    pub(crate) fn freeze<V: Freeze>(&mut self, item: &V) {
        self.0.replace(Record::encode(item));
    }

    /// True when a closed item of kind `V` has this id.
    pub(crate) fn contains<V: Freeze>(&self, id: &V::Id) -> bool {
        Key::of::<V>(id).is_some_and(|key| self.0.contains(key.as_bytes()))
    }

    /// The closed item of kind `V` with this id.
    pub(crate) fn get<V: Freeze>(&self, id: &V::Id) -> Option<V> {
        let key = Key::of::<V>(id)?;
        self.0.get(key.as_bytes()).map(Record::decode)
    }

    /// Removes the closed item of kind `V` with this id and returns it.
    pub(crate) fn take<V: Freeze>(&mut self, id: &V::Id) -> Option<V> {
        let key = Key::of::<V>(id)?;
        if !self.0.contains(key.as_bytes()) {
            // A miss would copy the nodes a snapshot shares for nothing.
            return None;
        }
        self.0.take(key.as_bytes()).map(|r| r.decode())
    }

    /// The closed items of kind `V`, by id (double-ended).
    pub(crate) fn iter<V: Freeze>(&self) -> impl DoubleEndedIterator<Item = V> + '_ {
        let (low, high) = ([V::KIND], [V::KIND + 1]);
        self.0
            .range::<[u8], _>((Bound::Included(&low[..]), Bound::Excluded(&high[..])))
            .map(Record::decode)
    }

    /// Puts `item` where its state says it belongs: frozen here when
    /// closed, in `open` otherwise; an item with its id on the other side
    /// is dropped (an id is never in both).
    pub(crate) fn place<V: Freeze>(&mut self, open: &mut SharedMap<V::Id, V>, item: V) {
        if item.is_closed() {
            if open.contains_key(item.id()) {
                open.remove(item.id());
            }
            self.freeze(&item);
        } else {
            self.take::<V>(item.id());
            open.insert(item.id().clone(), item);
        }
    }

    /// Changes the item `id`, open (in `open`) or closed (thawed from
    /// here), and puts it back where its new state belongs. `None`, and
    /// nothing changed, when there is no such item.
    pub(crate) fn modify<V: Freeze, R>(
        &mut self,
        open: &mut SharedMap<V::Id, V>,
        id: &V::Id,
        change: impl FnOnce(&mut V) -> R,
    ) -> Option<R> {
        if let Some(item) = open.get_mut(id) {
            let result = change(item);
            if item.is_closed() {
                if let Some(item) = open.remove(id) {
                    self.freeze(&item);
                }
            }
            return Some(result);
        }
        let mut item = self.take::<V>(id)?;
        let result = change(&mut item);
        self.place(open, item);
        Some(result)
    }

    /// Every item of kind `V`, open (from `open`, borrowed) and closed
    /// (decoded), by id.
    pub(crate) fn merged<'a, V: Freeze>(
        &'a self,
        open: &'a SharedMap<V::Id, V>,
    ) -> impl Iterator<Item = Cow<'a, V>> + 'a {
        let mut open = open.values().peekable();
        let mut closed = self.iter::<V>().peekable();
        std::iter::from_fn(move || match (open.peek(), closed.peek()) {
            (Some(o), Some(c)) if o.id() > c.id() => closed.next().map(Cow::Owned),
            (Some(_), _) => open.next().map(Cow::Borrowed),
            (None, _) => closed.next().map(Cow::Owned),
        })
    }

    /// The item `id` of kind `V`, open (from `open`, borrowed) or closed
    /// (decoded).
    pub(crate) fn find<'a, V: Freeze>(
        &self,
        open: &'a SharedMap<V::Id, V>,
        id: &V::Id,
    ) -> Option<Cow<'a, V>> {
        match open.get(id) {
            Some(item) => Some(Cow::Borrowed(item)),
            None => self.get::<V>(id).map(Cow::Owned),
        }
    }

    /// True when `a` and `b` hold equal items of their kind.
    fn same_item(a: &Record, b: &Record) -> bool {
        if a.0 == b.0 {
            return true;
        }
        // Equal items may differ in bytes only by a decimal's scale (2.0
        // and 2.00 are equal).
        a.key() == b.key()
            && match a.kind() {
                Order::KIND => a.decode::<Order>() == b.decode::<Order>(),
                Receivable::KIND => a.decode::<Receivable>() == b.decode::<Receivable>(),
                Payment::KIND => a.decode::<Payment>() == b.decode::<Payment>(),
                _ => false,
            }
    }
}

impl PartialEq for Archive {
    /// Equal when they hold equal items.
    fn eq(&self, other: &Self) -> bool {
        self.0.ptr_eq(&other.0)
            || (self.0.len() == other.0.len()
                && self
                    .0
                    .iter()
                    .zip(other.0.iter())
                    .all(|(a, b)| Self::same_item(a, b)))
    }
}

impl Eq for Archive {}

impl fmt::Debug for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Archive")
            .field("orders", &self.iter::<Order>().collect::<Vec<_>>())
            .field(
                "receivables",
                &self.iter::<Receivable>().collect::<Vec<_>>(),
            )
            .field("payments", &self.iter::<Payment>().collect::<Vec<_>>())
            .finish()
    }
}

// ----- the items' fields ---------------------------------------------------

impl<T: Binary> Binary for Few<T> {
    fn put(&self, w: &mut Vec<u8>) {
        u32::try_from(self.len()).unwrap_or(u32::MAX).put(w);
        for item in self.iter() {
            item.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        let n = u32::get(r)?;
        (0..n).map(|_| T::get(r)).collect()
    }
}

/// A payment's allocation: receivable and amount.
impl Binary for Allocated {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
        self.1.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Self(ReceivableId::get(r)?, Decimal::get(r)?))
    }
}

/// A `(ReceivableId, Decimal)` with a binary shape.
struct Allocated(ReceivableId, Decimal);

impl Binary for OrderStatus {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(match self {
            OrderStatus::Open => 0,
            OrderStatus::Delivered => 1,
            OrderStatus::Cancelled => 2,
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        match r.byte()? {
            0 => Ok(OrderStatus::Open),
            1 => Ok(OrderStatus::Delivered),
            2 => Ok(OrderStatus::Cancelled),
            _ => Err(Fault::Invalid("unknown OrderStatus tag".into())),
        }
    }
}

impl Binary for OrderLineState {
    fn put(&self, w: &mut Vec<u8>) {
        self.item.put(w);
        self.ordered.put(w);
        self.delivered.put(w);
        self.unit_price.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Self {
            item: r.read()?,
            ordered: r.read()?,
            delivered: r.read()?,
            unit_price: r.read()?,
        })
    }
}

impl Binary for DelayExplanation {
    fn put(&self, w: &mut Vec<u8>) {
        self.reason.put(w);
        self.text.put(w);
        self.promised_date.put(w);
        self.manager.put(w);
        self.source.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Self {
            reason: r.read()?,
            text: r.read()?,
            promised_date: r.read()?,
            manager: r.read()?,
            source: r.read()?,
        })
    }
}

/// An id read back from a record's key.
fn id_of<I: for<'a> TryFrom<&'a str, Error = credence_events::IdError>>(
    id: &str,
) -> Result<I, Fault> {
    I::try_from(id).map_err(|e| Fault::Invalid(e.to_string()))
}

impl Freeze for Order {
    const KIND: u8 = 0;
    const NAME: &'static str = "order";
    type Id = OrderId;

    fn id(&self) -> &OrderId {
        &self.id
    }
    fn id_text(id: &OrderId) -> &str {
        id.as_str()
    }
    fn is_closed(&self) -> bool {
        self.status != OrderStatus::Open
    }
    fn put_fields(&self, w: &mut Vec<u8>) {
        self.lines.put(w);
        self.requested_delivery.put(w);
        self.urgency.put(w);
        self.discount.put(w);
        self.status.put(w);
        self.verdict.put(w);
        self.fulfilment.put(w);
        self.source.put(w);
        self.placed_at.put(w);
    }
    fn get_fields(id: &str, r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Self {
            id: id_of(id)?,
            lines: r.read()?,
            requested_delivery: r.read()?,
            urgency: r.read()?,
            discount: r.read()?,
            status: r.read()?,
            verdict: r.read()?,
            fulfilment: r.read()?,
            source: r.read()?,
            placed_at: r.read()?,
        })
    }
}

impl Freeze for Receivable {
    const KIND: u8 = 1;
    const NAME: &'static str = "receivable";
    type Id = ReceivableId;

    fn id(&self) -> &ReceivableId {
        &self.id
    }
    fn id_text(id: &ReceivableId) -> &str {
        id.as_str()
    }
    fn is_closed(&self) -> bool {
        !self.is_open()
    }
    fn put_fields(&self, w: &mut Vec<u8>) {
        self.delivery.put(w);
        self.order.put(w);
        self.amount.put(w);
        self.open.put(w);
        self.issued_on.put(w);
        self.due_date.put(w);
        self.closed_on.put(w);
        self.source.put(w);
        self.paid_by.put(w);
        match &self.explanation {
            None => w.push(0),
            Some(e) => {
                w.push(1);
                e.put(w);
            }
        }
    }
    fn get_fields(id: &str, r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Self {
            id: id_of(id)?,
            delivery: r.read()?,
            order: r.read()?,
            amount: r.read()?,
            open: r.read()?,
            issued_on: r.read()?,
            due_date: r.read()?,
            closed_on: r.read()?,
            source: r.read()?,
            paid_by: r.read::<Few<EventId>>()?,
            explanation: r.read::<Option<DelayExplanation>>()?.map(Box::new),
        })
    }
}

impl Freeze for Payment {
    const KIND: u8 = 2;
    const NAME: &'static str = "payment";
    type Id = PaymentId;

    fn id(&self) -> &PaymentId {
        &self.id
    }
    fn id_text(id: &PaymentId) -> &str {
        id.as_str()
    }
    fn is_closed(&self) -> bool {
        self.credit_left <= Decimal::ZERO
    }
    fn put_fields(&self, w: &mut Vec<u8>) {
        self.amount.put(w);
        self.method.put(w);
        self.received_on.put(w);
        u32::try_from(self.allocations.len())
            .unwrap_or(u32::MAX)
            .put(w);
        for (receivable, amount) in self.allocations.iter() {
            receivable.put(w);
            amount.put(w);
        }
        self.credit_left.put(w);
        self.reversed.put(w);
        self.source.put(w);
    }
    fn get_fields(id: &str, r: &mut Reader<'_>) -> Result<Self, Fault> {
        Ok(Self {
            id: id_of(id)?,
            amount: r.read()?,
            method: r.read()?,
            received_on: r.read()?,
            allocations: r
                .read::<Few<Allocated>>()?
                .iter()
                .map(|a| (a.0.clone(), a.1))
                .collect(),
            credit_left: r.read()?,
            reversed: r.read()?,
            source: r.read()?,
        })
    }
}
