//! The account's closed items, frozen into compact records.
//!
//! Most of a customer's history is closed: orders delivered or cancelled,
//! receivables paid, payments whose credit is spent. Commands and policies
//! read the open items, the running totals and the indexes; a closed item
//! is read again only by a query that names it or lists everything, by a
//! reversal or a late change that thaws it, and by a snapshot. So the
//! account keeps its open items as values in its maps (changed in place,
//! read for free) and freezes each item as it closes into an [`Archive`]
//! of records: the key in front, the other fields after it in the compact
//! [binary shapes](credence_events::binary) of the events crate. A record
//! takes about 50 to 70 bytes where the value took 200 to 300 (the value,
//! its `Arc`, its key stored twice, its order lines in their own block).
//!
//! # Records
//!
//! `[id length][kind][id][fields…]`: the key is the kind byte then the
//! id's UTF-8, so records sort by kind and then by id in the ids' own order
//! (an id compares as its bytes), and a kind's records are one run. Reading
//! an item decodes it, with the validation of the events' decoder.
//!
//! Records never leave the process (snapshots write the items themselves),
//! so they are only read by the build that wrote them: a record that does
//! not decode is a bug, and reading it panics with a message saying so.
//!
//! # Two forms
//!
//! * **Packed** (most customers): up to [`PACKED_RECORDS`] records and
//!   [`PACKED_BYTES`] bytes, sorted, each after its length, in one shared
//!   block. A change writes the block again (at most 2 KB); a lookup
//!   walks it. A customer of a dozen closed items costs one allocation.
//! * **Tree**: past that, a [`SharedSet`] of records, one block each, so
//!   that a change copies only its path and a lookup is O(log n). Each
//!   record keeps its key's first 16 bytes in the tree's node, so that a
//!   search reads the nodes and not the blocks. An archive that shrank
//!   stays a tree.
//!
//! Both clone in O(1), sharing every record, which is what the as-of
//! index's snapshots need.
//!
//! A third form keeps nothing: a **loose** archive ([`Archive::loose`],
//! the archive of
//! [`CustomerAccount::transient`](crate::CustomerAccount::transient))
//! leaves closed items as values in the account's maps, beside the open
//! ones, for an account folded once and dropped, where the records' memory
//! would buy nothing and closing an item costs nothing. Such an account
//! tells open items from closed ones by their state.
//!
//! # Invariants
//!
//! * An item is in the archive exactly when it is closed (see
//!   [`Freeze::is_closed`]); the account's maps hold the others. An id is
//!   never in both ([`Archive::place`], [`Archive::modify`]). A loose
//!   archive is always empty: the maps hold every item.
//! * Equal items give equal records (the encoding is a function of the
//!   value); archives are equal when their items are, whatever their form
//!   or the scale of their decimals.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

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

/// Encodes `item` as a record: `[id length][kind][id][fields…]`.
fn encode<V: Freeze>(item: &V, out: &mut Vec<u8>) {
    let id = V::id_text(item.id());
    // Ids are at most `MAX_ID_LEN` (128) bytes.
    out.push(u8::try_from(id.len()).expect("an id is at most 128 bytes"));
    out.push(V::KIND);
    out.extend_from_slice(id.as_bytes());
    item.put_fields(out);
}

thread_local! {
    /// A buffer to encode a record in before it is copied to a block of
    /// its exact size (see [`with_scratch`]).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on an empty buffer: this thread's scratch buffer, kept between
/// calls so that encoding a record allocates nothing. The buffer keeps the
/// capacity of the largest record encoded, up to 64 kB.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    const KEPT: usize = 64 * 1024;
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let result = f(&mut buffer);
            if buffer.capacity() > KEPT {
                *buffer = Vec::new();
            }
            result
        }
        // Only if `f` itself asked for the buffer: a buffer of its own.
        Err(_) => f(&mut Vec::with_capacity(256)),
    })
}

/// A record's key: its kind byte, then its id.
fn key(record: &[u8]) -> &[u8] {
    &record[1..2 + usize::from(record[0])]
}

/// A record's fields: what follows its key.
fn fields(record: &[u8]) -> &[u8] {
    &record[2 + usize::from(record[0])..]
}

/// Decodes a record of kind `V`.
fn decode<V: Freeze>(record: &[u8]) -> V {
    let decoded = std::str::from_utf8(&key(record)[1..])
        .map_err(|e| Fault::Invalid(e.to_string()))
        .and_then(|id| {
            let mut r = Reader::new(fields(record));
            let item = V::get_fields(id, &mut r)?;
            if r.is_at_end() {
                Ok(item)
            } else {
                Err(Fault::Invalid("trailing bytes".into()))
            }
        });
    decoded.unwrap_or_else(|e| undecodable(V::NAME, &e))
}

/// A record that does not decode: a bug (see the [module docs](self)).
#[cold]
fn undecodable(name: &str, fault: &Fault) -> ! {
    panic!(
        "a closed {name} record does not decode ({fault}); records are written and read by the same build"
    )
}

/// True when two records hold equal items.
fn same_item(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    // Equal items may differ in bytes only by a decimal's scale (2.0 and
    // 2.00 are equal).
    key(a) == key(b)
        && match key(a)[0] {
            Order::KIND => decode::<Order>(a) == decode::<Order>(b),
            Receivable::KIND => decode::<Receivable>(a) == decode::<Receivable>(b),
            Payment::KIND => decode::<Payment>(a) == decode::<Payment>(b),
            _ => false,
        }
}

/// One record in a block of its own, in a large archive's tree. Ordered
/// and equal by its key (kind, then id) alone: the tree holds one record
/// per key. [`Archive`]'s equality compares the items.
///
/// The key's first [`HEAD`] bytes are also kept beside the block (see
/// [`head`]), in the tree's node: a search decides on them without
/// following the block's pointer, so a walk through a large cold tree
/// reads its nodes and nothing else, and only keys that share their first
/// 16 bytes read their blocks to compare the rest.
#[derive(Clone)]
struct Record {
    head: u128,
    block: Box<[u8]>,
}

/// How many of a key's bytes a [`Record`] keeps beside its block.
const HEAD: usize = 16;

/// The first [`HEAD`] bytes of `key`, zero-padded, as a big-endian number:
/// two keys' heads compare as their first bytes do, and keys whose heads
/// differ compare as their heads (a shorter key is a prefix, padded with
/// zeros, no larger than the longer key's bytes there). Equal heads say
/// nothing: the rest decides.
fn head(key: &[u8]) -> u128 {
    let mut bytes = [0; HEAD];
    let n = key.len().min(HEAD);
    bytes[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(bytes)
}

impl Record {
    fn new(block: Box<[u8]>) -> Self {
        Self {
            head: head(key(&block)),
            block,
        }
    }

    /// This record's key against `key`, whose head is `key_head`.
    #[inline]
    fn cmp_key(&self, key_head: u128, key: &[u8]) -> Ordering {
        self.head
            .cmp(&key_head)
            .then_with(|| self::key(&self.block).cmp(key))
    }
}

impl Borrow<[u8]> for Record {
    fn borrow(&self) -> &[u8] {
        key(&self.block)
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
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
        // The blocks only on a tie of the heads.
        self.head
            .cmp(&other.head)
            .then_with(|| key(&self.block).cmp(key(&other.block)))
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

    /// Orders a tree's record against this key (for [`SharedSet::get_by`]).
    fn probe(&self) -> impl Fn(&Record) -> Ordering + '_ {
        let key_head = head(self.as_bytes());
        move |record| record.cmp_key(key_head, self.as_bytes())
    }
}

/// The most records a packed archive holds; one more and it becomes a
/// tree.
const PACKED_RECORDS: usize = 24;

/// The most bytes a packed archive holds; a change copies them all.
const PACKED_BYTES: usize = 2048;

/// The closed items of an account (see the [module docs](self)).
///
/// A small archive (most customers: at most [`PACKED_RECORDS`] records and
/// [`PACKED_BYTES`] bytes) is *packed*: its records sorted by key, each
/// after its length, in one shared block, which a change copies. A larger
/// one is a [`SharedSet`] of records, one block each, which a change
/// copies only along its path. Either way cloning is O(1) and shares
/// every record. Equal when they hold equal items, whatever their form.
#[derive(Clone)]
pub(crate) struct Archive(Form);

#[derive(Clone)]
enum Form {
    /// `[length u16 LE][record]…`, sorted by key; `None` when empty.
    Packed(Option<Arc<[u8]>>),
    Tree(SharedSet<Record>),
    /// No records: closed items stay in the account's maps (see
    /// [`Archive::loose`]).
    Loose,
}

impl Default for Archive {
    fn default() -> Self {
        Self(Form::Packed(None))
    }
}

/// The length in front of each record of a packed block: two bytes,
/// little-endian (a block holds at most [`PACKED_BYTES`]).
const LEN: usize = 2;

/// The records of a packed block, in order.
fn packed(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = block;
    std::iter::from_fn(move || {
        let (len, tail) = rest.split_first_chunk::<LEN>()?;
        let (record, tail) = tail.split_at_checked(usize::from(u16::from_le_bytes(*len)))?;
        rest = tail;
        Some(record)
    })
}

/// Where the record keyed `key` lies in a packed block, length included,
/// as byte offsets; an empty span at the place it would go when there is
/// none.
fn span(block: &[u8], key: &[u8]) -> (usize, usize) {
    let mut at = 0;
    for record in packed(block) {
        let end = at + LEN + record.len();
        match self::key(record).cmp(key) {
            Ordering::Less => at = end,
            Ordering::Equal => return (at, end),
            Ordering::Greater => break,
        }
    }
    (at, at)
}

impl Archive {
    /// A loose archive: one that freezes nothing. [`place`](Self::place)
    /// and [`modify`](Self::modify) leave closed items as values in the
    /// account's map of their kind, beside the open ones; the archive
    /// itself stays empty. The account folds faster and takes several
    /// times the memory: for an account folded once and dropped (see
    /// [`CustomerAccount::transient`](crate::CustomerAccount::transient)),
    /// whose queries tell open items from closed ones by their state.
    pub(crate) fn loose() -> Self {
        Self(Form::Loose)
    }

    /// True for a [loose](Self::loose) archive.
    pub(crate) fn is_loose(&self) -> bool {
        matches!(self.0, Form::Loose)
    }

    /// Every record, sorted by key (none in a loose archive, which has
    /// items instead).
    fn records(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match &self.0 {
            Form::Packed(None) | Form::Loose => Box::new(std::iter::empty()),
            Form::Packed(Some(block)) => Box::new(packed(block)),
            Form::Tree(set) => Box::new(set.iter().map(|r| &*r.block)),
        }
    }

    /// The record with this key (none in a loose archive).
    fn record(&self, key: &Key) -> Option<&[u8]> {
        match &self.0 {
            Form::Packed(block) => {
                let block = block.as_deref()?;
                let (start, end) = span(block, key.as_bytes());
                (start < end).then(|| &block[start + LEN..end])
            }
            Form::Tree(set) => set.get_by(key.probe()).map(|r| &*r.block),
            Form::Loose => None,
        }
    }

    /// Freezes `item`, closed, replacing a record with its id; a loose
    /// archive puts it back in `open`, the map of its kind.
    fn freeze<V: Freeze>(&mut self, open: &mut SharedMap<V::Id, V>, item: V) {
        let block = match &mut self.0 {
            Form::Loose => {
                open.insert(item.id().clone(), item);
                return;
            }
            Form::Tree(set) => {
                // Encoded into the thread's scratch buffer, then copied
                // into a block of its exact size: one allocation.
                let record = with_scratch(|buffer| {
                    encode(&item, buffer);
                    Box::from(buffer.as_slice())
                });
                set.replace(Record::new(record));
                return;
            }
            Form::Packed(block) => block.as_deref().unwrap_or(&[]),
        };
        // The block again, the record encoded in its place by key, in one
        // pass.
        let key = Key::of::<V>(item.id()).expect("an id is at most MAX_ID_LEN bytes");
        let (start, end) = span(block, key.as_bytes());
        let mut out = Vec::with_capacity(block.len() - (end - start) + LEN + 256);
        out.extend_from_slice(&block[..start]);
        let at = out.len();
        out.extend_from_slice(&[0; LEN]);
        encode(&item, &mut out);
        let records = packed(block).count() + usize::from(start == end);
        let len = u16::try_from(out.len() - at - LEN)
            .ok()
            .filter(|_| records <= PACKED_RECORDS)
            .filter(|_| out.len() + (block.len() - end) <= PACKED_BYTES);
        let Some(len) = len else {
            // Too large for a block: a tree of records.
            let mut set = SharedSet::new();
            for r in packed(&block[..start]).chain(packed(&block[end..])) {
                set.insert(Record::new(Box::from(r)));
            }
            set.insert(Record::new(Box::from(&out[at + LEN..])));
            self.0 = Form::Tree(set);
            return;
        };
        out[at..at + LEN].copy_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&block[end..]);
        self.0 = Form::Packed(Some(Arc::from(out.as_slice())));
    }

    /// True when a closed item of kind `V` has this id.
    pub(crate) fn contains<V: Freeze>(&self, id: &V::Id) -> bool {
        Key::of::<V>(id).is_some_and(|key| self.record(&key).is_some())
    }

    /// The closed item of kind `V` with this id.
    pub(crate) fn get<V: Freeze>(&self, id: &V::Id) -> Option<V> {
        self.record(&Key::of::<V>(id)?).map(decode)
    }

    /// The sources of the closed receivable `id`: the event that issued
    /// it and those of the payments that paid it, read from the front of
    /// its record without decoding the rest.
    pub(crate) fn receivable_sources(&self, id: &ReceivableId) -> Option<(EventId, Few<EventId>)> {
        let record = self.record(&Key::of::<Receivable>(id)?)?;
        let mut r = Reader::new(fields(record));
        let sources = EventId::get(&mut r).and_then(|source| Ok((source, Few::get(&mut r)?)));
        Some(sources.unwrap_or_else(|e| undecodable(Receivable::NAME, &e)))
    }

    /// Removes the closed item of kind `V` with this id and returns it.
    pub(crate) fn take<V: Freeze>(&mut self, id: &V::Id) -> Option<V> {
        let key = Key::of::<V>(id)?;
        match &mut self.0 {
            Form::Tree(set) => {
                // Found first: a miss changes nothing (a `take` that misses
                // would copy the nodes a snapshot shares).
                let item = decode(&set.get_by(key.probe())?.block);
                set.take_by(key.probe());
                Some(item)
            }
            Form::Packed(block) => {
                let old = block.as_deref()?;
                let (start, end) = span(old, key.as_bytes());
                if start == end {
                    return None;
                }
                let item = decode(&old[start + LEN..end]);
                // One allocation of the exact size (a chain of slices has
                // a known length).
                let rest: Arc<[u8]> = old[..start].iter().chain(&old[end..]).copied().collect();
                *block = (!rest.is_empty()).then_some(rest);
                Some(item)
            }
            Form::Loose => None,
        }
    }

    /// How many closed items of kind `V` there are (without decoding
    /// them).
    pub(crate) fn count<V: Freeze>(&self) -> usize {
        self.records().filter(|r| key(r)[0] == V::KIND).count()
    }

    /// The closed items of kind `V`, by id.
    pub(crate) fn iter<V: Freeze>(&self) -> Box<dyn Iterator<Item = V> + '_> {
        let (low, high) = ([V::KIND], [V::KIND + 1]);
        match &self.0 {
            Form::Tree(set) => Box::new(
                set.range::<[u8], _>((Bound::Included(&low[..]), Bound::Excluded(&high[..])))
                    .map(|r| decode(&r.block)),
            ),
            Form::Packed(_) | Form::Loose => Box::new(
                self.records()
                    .skip_while(|r| key(r)[0] < V::KIND)
                    .take_while(|r| key(r)[0] == V::KIND)
                    .map(decode),
            ),
        }
    }

    /// True when the archive is packed in one block (for tests).
    #[cfg(test)]
    fn is_packed(&self) -> bool {
        matches!(self.0, Form::Packed(_))
    }

    /// Puts `item` where its state says it belongs: frozen here when
    /// closed (a loose archive leaves it in `open`), in `open` otherwise;
    /// an item with its id on the other side is dropped (an id is never in
    /// both).
    pub(crate) fn place<V: Freeze>(&mut self, open: &mut SharedMap<V::Id, V>, item: V) {
        if self.is_loose() {
            // Open or closed, it stays in `open` (nothing to take back).
            open.insert(item.id().clone(), item);
        } else if item.is_closed() {
            if open.contains_key(item.id()) {
                open.remove(item.id());
            }
            self.freeze(open, item);
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
            // A loose archive would only put it back.
            if item.is_closed() && !self.is_loose() {
                if let Some(item) = open.remove(id) {
                    self.freeze(open, item);
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
}

impl PartialEq for Archive {
    /// Equal when they hold equal items, whatever their form.
    fn eq(&self, other: &Self) -> bool {
        let same_block = match (&self.0, &other.0) {
            (Form::Packed(Some(a)), Form::Packed(Some(b))) => Arc::ptr_eq(a, b),
            (Form::Tree(a), Form::Tree(b)) => a.ptr_eq(b),
            _ => false,
        };
        if same_block {
            return true;
        }
        let (mut a, mut b) = (self.records(), other.records());
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if same_item(x, y) => {}
                _ => return false,
            }
        }
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

/// Field lists with a binary shape: each field in declaration order, as
/// the events crate's `binary_structs!` writes an event.
macro_rules! binary_fields {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl Binary for $ty {
            fn put(&self, w: &mut Vec<u8>) {
                $(self.$field.put(w);)*
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
                Ok(Self { $($field: r.read()?,)* })
            }
        }
    )*};
}

binary_fields! {
    OrderLineState { item, ordered, delivered, unit_price }
    DelayExplanation { reason, text, promised_date, manager, source }
}

/// A receivable's boxed explanation: the explanation's fields.
impl Binary for Box<DelayExplanation> {
    fn put(&self, w: &mut Vec<u8>) {
        (**self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, Fault> {
        DelayExplanation::get(r).map(Box::new)
    }
}

/// An id read back from a record's key.
fn id_of<I: for<'a> TryFrom<&'a str, Error = credence_events::IdError>>(
    id: &str,
) -> Result<I, Fault> {
    I::try_from(id).map_err(|e| Fault::Invalid(e.to_string()))
}

/// The [`Freeze`] impls: kind byte, name, id type, when the item is
/// closed, and its fields but the id, in the order they are written.
macro_rules! freeze {
    ($($ty:ident { kind: $kind:literal, name: $name:literal, id: $id:ident, closed: |$it:ident| $closed:expr, fields: [$($field:ident),* $(,)?] })*) => {$(
        impl Freeze for $ty {
            const KIND: u8 = $kind;
            const NAME: &'static str = $name;
            type Id = $id;

            fn id(&self) -> &$id {
                &self.id
            }
            fn id_text(id: &$id) -> &str {
                id.as_str()
            }
            fn is_closed(&self) -> bool {
                let $it = self;
                $closed
            }
            fn put_fields(&self, w: &mut Vec<u8>) {
                $(self.$field.put(w);)*
            }
            fn get_fields(id: &str, r: &mut Reader<'_>) -> Result<Self, Fault> {
                Ok(Self {
                    id: id_of(id)?,
                    $($field: r.read()?,)*
                })
            }
        }
    )*};
}

freeze! {
    Order {
        kind: 0, name: "order", id: OrderId,
        closed: |o| o.status != OrderStatus::Open,
        fields: [
            lines, requested_delivery, urgency, discount, status, verdict, fulfilment, source,
            placed_at,
        ]
    }
    Receivable {
        kind: 1, name: "receivable", id: ReceivableId,
        closed: |r| !r.is_open(),
        // `source` and `paid_by` first: payment behaviour reads them alone
        // (`Archive::receivable_sources`).
        fields: [
            source, paid_by, delivery, order, amount, open, issued_on, due_date, closed_on,
            explanation,
        ]
    }
    Payment {
        kind: 2, name: "payment", id: PaymentId,
        closed: |p| p.credit_left <= Decimal::ZERO,
        fields: [amount, method, received_on, allocations, credit_left, reversed, source]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, NaiveDate};
    use credence_events::{
        DeliveryId, EventId, FulfilmentMode, ItemId, ManagerId, PaymentMethod, Rate, ReasonCode,
        Urgency, Verdict,
    };
    use proptest::prelude::*;

    use super::*;

    /// One of each kind, made from a few numbers so that a property test
    /// varies every field.
    #[derive(Debug, Clone, PartialEq)]
    enum Item {
        Order(Order),
        Receivable(Receivable),
        Payment(Payment),
    }

    impl Item {
        fn freeze(&self, archive: &mut Archive) {
            match self {
                Item::Order(o) => archive.freeze(&mut SharedMap::new(), o.clone()),
                Item::Receivable(r) => archive.freeze(&mut SharedMap::new(), r.clone()),
                Item::Payment(p) => archive.freeze(&mut SharedMap::new(), p.clone()),
            }
        }
    }

    fn money(mantissa: i64, scale: u32) -> Decimal {
        Decimal::new(mantissa, scale)
    }

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n.unsigned_abs())
    }

    fn item(kind: u8, id: &str, n: i64, text: &str) -> Item {
        let source = EventId::from_u128(n.unsigned_abs().into());
        match kind {
            0 => Item::Order(Order {
                id: OrderId::new(id).unwrap(),
                lines: (0..n.rem_euclid(3))
                    .map(|k| OrderLineState {
                        item: ItemId::new(format!("item-{k}")).unwrap(),
                        ordered: money(n + k, 1),
                        delivered: money(n, 1),
                        unit_price: money(1999 + k, 2),
                    })
                    .collect(),
                requested_delivery: DateTime::from_timestamp(1_790_000_000 + n, 7).unwrap(),
                urgency: [Urgency::Normal, Urgency::Urgent, Urgency::SameDay]
                    [n.rem_euclid(3) as usize],
                discount: Rate::percent(money(n.rem_euclid(100), 0)).unwrap(),
                status: [OrderStatus::Delivered, OrderStatus::Cancelled][n.rem_euclid(2) as usize],
                verdict: [None, Some(Verdict::Accept), Some(Verdict::Hold)]
                    [n.rem_euclid(3) as usize],
                fulfilment: [None, Some(FulfilmentMode::Partial)][n.rem_euclid(2) as usize],
                source,
                placed_at: DateTime::from_timestamp(1_780_000_000 - n, 0).unwrap(),
            }),
            1 => Item::Receivable(Receivable {
                id: ReceivableId::new(id).unwrap(),
                delivery: DeliveryId::new(format!("D-{n}")).unwrap(),
                order: OrderId::new(format!("O-{n}")).unwrap(),
                amount: money(n * 100, 2),
                open: Decimal::ZERO,
                issued_on: day(n),
                due_date: day(n + 30),
                closed_on: Some(day(n + 31)),
                source,
                paid_by: (0..n.rem_euclid(3))
                    .map(|k| EventId::from_u128(k as u128 + 99))
                    .collect(),
                explanation: (!text.is_empty()).then(|| {
                    Box::new(DelayExplanation {
                        reason: ReasonCode::new("cash-flow").unwrap(),
                        text: text.to_owned(),
                        promised_date: (n % 2 == 0).then(|| day(n + 40)),
                        manager: ManagerId::new("M-1").unwrap(),
                        source,
                    })
                }),
            }),
            _ => Item::Payment(Payment {
                id: PaymentId::new(id).unwrap(),
                amount: money(n * 7, 2),
                method: [PaymentMethod::BankTransfer, PaymentMethod::Cash]
                    [n.rem_euclid(2) as usize],
                received_on: day(n),
                allocations: (0..n.rem_euclid(3))
                    .map(|k| (ReceivableId::new(format!("R-{k}")).unwrap(), money(k, 2)))
                    .collect(),
                credit_left: Decimal::ZERO,
                reversed: n % 2 == 1,
                source,
            }),
        }
    }

    /// What the archive holds, as a map.
    type Model = BTreeMap<(u8, String), Item>;

    fn check(archive: &Archive, model: &Model) -> Result<(), TestCaseError> {
        let orders: Vec<_> = archive.iter::<Order>().map(Item::Order).collect();
        let receivables: Vec<_> = archive.iter::<Receivable>().map(Item::Receivable).collect();
        let payments: Vec<_> = archive.iter::<Payment>().map(Item::Payment).collect();
        let all: Vec<_> = orders
            .into_iter()
            .chain(receivables)
            .chain(payments)
            .collect();
        let expected: Vec<_> = model.values().cloned().collect();
        prop_assert_eq!(&all, &expected);
        for ((kind, id), item) in model {
            let found = match kind {
                0 => {
                    let id = OrderId::new(id.as_str()).unwrap();
                    prop_assert!(archive.contains::<Order>(&id));
                    archive.get::<Order>(&id).map(Item::Order)
                }
                1 => {
                    let id = ReceivableId::new(id.as_str()).unwrap();
                    prop_assert!(archive.contains::<Receivable>(&id));
                    let found = archive.get::<Receivable>(&id);
                    prop_assert_eq!(
                        archive.receivable_sources(&id),
                        found.as_ref().map(|r| (r.source, r.paid_by.clone()))
                    );
                    found.map(Item::Receivable)
                }
                _ => {
                    let id = PaymentId::new(id.as_str()).unwrap();
                    prop_assert!(archive.contains::<Payment>(&id));
                    archive.get::<Payment>(&id).map(Item::Payment)
                }
            };
            prop_assert_eq!(found.as_ref(), Some(item));
        }
        // The same items frozen afresh in reverse order, into a packed or a
        // tree archive alike, make an equal archive.
        let mut again = Archive::default();
        for item in model.values().rev() {
            item.freeze(&mut again);
        }
        prop_assert_eq!(archive, &again);
        let bytes: usize = again.records().map(|r| r.len() + LEN).sum();
        prop_assert_eq!(
            again.is_packed(),
            model.len() <= PACKED_RECORDS && bytes <= PACKED_BYTES,
            "packed exactly while small"
        );
        Ok(())
    }

    /// Ids from a small pool (so that freezes replace and takes hit), some
    /// not ASCII.
    fn id_of_pool(n: u8) -> String {
        match n % 4 {
            0 => format!("X-{n}"),
            1 => format!("ø-{n:03}"),
            2 => format!("{n}"),
            _ => format!("Z{n} long id {}", "x".repeat(usize::from(n))),
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Freeze(u8, u8, i64, String),
        Take(u8, u8),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3u8, 0..40u8, -500..500i64, "[a-z ]{0,40}")
                .prop_map(|(k, i, n, t)| Op::Freeze(k, i, n, t)),
            2 => (0..3u8, 0..40u8).prop_map(|(k, i)| Op::Take(k, i)),
            1 => Just(Op::Snapshot),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// The archive behaves as a map from (kind, id) to item, in either
        /// form and across the change of form, and a clone never sees
        /// later changes.
        #[test]
        fn an_archive_behaves_like_a_map(ops in proptest::collection::vec(op(), 1..160)) {
            let mut archive = Archive::default();
            let mut model = Model::new();
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Freeze(kind, i, n, text) => {
                        let id = id_of_pool(i);
                        let item = item(kind, &id, n, &text);
                        item.freeze(&mut archive);
                        model.insert((kind, id), item);
                    }
                    Op::Take(kind, i) => {
                        let id = id_of_pool(i);
                        let taken = match kind {
                            0 => archive.take::<Order>(&OrderId::new(id.as_str()).unwrap()).map(Item::Order),
                            1 => archive.take::<Receivable>(&ReceivableId::new(id.as_str()).unwrap()).map(Item::Receivable),
                            _ => archive.take::<Payment>(&PaymentId::new(id.as_str()).unwrap()).map(Item::Payment),
                        };
                        prop_assert_eq!(taken, model.remove(&(kind, id)));
                    }
                    Op::Snapshot => snapshots.push((archive.clone(), model.clone())),
                }
                prop_assert_eq!(
                    archive.iter::<Order>().count() + archive.iter::<Receivable>().count() + archive.iter::<Payment>().count(),
                    model.len()
                );
                for kind in 0..3u8 {
                    let counted = match kind {
                        0 => archive.count::<Order>(),
                        1 => archive.count::<Receivable>(),
                        _ => archive.count::<Payment>(),
                    };
                    prop_assert_eq!(counted, model.keys().filter(|(k, _)| *k == kind).count());
                }
            }
            check(&archive, &model)?;
            for (snapshot, model) in &snapshots {
                check(snapshot, model)?;
            }
        }
    }

    /// A record with this key (`kind` byte then id bytes) and no fields.
    fn bare_record(key: &[u8]) -> Record {
        let mut block = vec![u8::try_from(key.len() - 1).unwrap()];
        block.extend_from_slice(key);
        Record::new(block.into_boxed_slice())
    }

    /// Keys from a small alphabet with a zero byte, up to well past the
    /// head's 16 bytes, so that many share a long prefix or are a prefix
    /// of another.
    fn record_key() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(b'a'), Just(0xff)],
            1..40,
        )
    }

    proptest! {
        /// Records order (and search) exactly as their keys' bytes do,
        /// whether the heads beside the blocks decide or the blocks must.
        #[test]
        fn records_order_as_their_keys(a in record_key(), b in record_key(), shared in 0usize..24) {
            // Often a long common prefix: `b` starts with part of `a`.
            let b: Vec<u8> = a.iter().take(shared).chain(&b).copied().collect();
            let (ra, rb) = (bare_record(&a), bare_record(&b));
            prop_assert_eq!(ra.cmp(&rb), a.cmp(&b));
            prop_assert_eq!(ra == rb, a == b);
            prop_assert_eq!(ra.cmp_key(head(&b), &b), a.cmp(&b));
            let borrowed: &[u8] = ra.borrow();
            prop_assert_eq!(borrowed, &a[..]);
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_record() {
        for kind in 0..3 {
            for n in [-3, 0, 1, 2, 5] {
                for text in ["", "late: the customer's customer paid late"] {
                    let item = item(kind, "Ü-1", n, text);
                    let mut archive = Archive::default();
                    item.freeze(&mut archive);
                    let back = match kind {
                        0 => archive.iter::<Order>().map(Item::Order).next(),
                        1 => archive.iter::<Receivable>().map(Item::Receivable).next(),
                        _ => archive.iter::<Payment>().map(Item::Payment).next(),
                    };
                    assert_eq!(back, Some(item));
                }
            }
        }
    }

    #[test]
    fn a_large_archive_stays_a_tree_and_equals_its_packed_copy_once_small_again() {
        let mut archive = Archive::default();
        let ids: Vec<_> = (0..=PACKED_RECORDS).map(|i| format!("R-{i:02}")).collect();
        for (n, id) in ids.iter().enumerate() {
            item(1, id, n as i64, "").freeze(&mut archive);
            assert_eq!(archive.is_packed(), n < PACKED_RECORDS);
        }
        let mut small = Archive::default();
        for id in &ids[1..] {
            let id = ReceivableId::new(id.as_str()).unwrap();
            assert!(archive.take::<Receivable>(&id).is_some());
        }
        assert!(!archive.is_packed(), "a tree stays a tree");
        item(1, &ids[0], 0, "").freeze(&mut small);
        assert!(small.is_packed());
        assert_eq!(archive, small);
        let missing = ReceivableId::new("R-99").unwrap();
        assert_eq!(archive.take::<Receivable>(&missing), None);
        assert!(!small.contains::<Receivable>(&missing));
    }

    #[test]
    fn a_packed_archive_becomes_a_tree_past_its_byte_budget() {
        let mut archive = Archive::default();
        let long = "x".repeat(PACKED_BYTES / 2);
        item(1, "R-1", 1, &long).freeze(&mut archive);
        assert!(archive.is_packed());
        item(1, "R-2", 2, &long).freeze(&mut archive);
        assert!(!archive.is_packed());
        assert_eq!(archive.iter::<Receivable>().count(), 2);
    }

    #[test]
    fn equal_amounts_of_different_scales_are_equal_items() {
        let Item::Payment(mut payment) = item(2, "P-1", 4, "") else {
            unreachable!()
        };
        let (mut a, mut b) = (Archive::default(), Archive::default());
        let mut open = SharedMap::new();
        payment.amount = money(20, 1);
        a.freeze(&mut open, payment.clone());
        payment.amount = money(200, 2);
        b.freeze(&mut open, payment.clone());
        assert_ne!(a.records().next(), b.records().next(), "different bytes");
        assert_eq!(a, b);
        payment.amount = money(201, 2);
        b.freeze(&mut open, payment.clone());
        assert_ne!(a, b);
    }

    #[test]
    fn a_loose_archive_leaves_closed_items_in_the_map() {
        let Item::Payment(payment) = item(2, "P-1", 4, "") else {
            unreachable!()
        };
        assert!(payment.is_closed());
        let mut archive = Archive::loose();
        let mut open = SharedMap::new();
        archive.place(&mut open, payment.clone());
        assert_eq!(open.get(&payment.id), Some(&payment));
        assert!(!archive.contains::<Payment>(&payment.id));
        assert_eq!(archive.count::<Payment>(), 0);
        // Changed in the map, closed or not; the archive stays empty.
        let credit = archive.modify(&mut open, &payment.id, |p| {
            p.credit_left = money(5, 0);
            p.is_closed()
        });
        assert_eq!(credit, Some(false));
        let closed = archive.modify(&mut open, &payment.id, |p| {
            p.credit_left = Decimal::ZERO;
            p.is_closed()
        });
        assert_eq!(closed, Some(true));
        assert_eq!(open.len(), 1);
        assert_eq!(archive, Archive::default());
        assert_eq!(archive.take::<Payment>(&payment.id), None);
        assert_eq!(
            open.get(&payment.id).map(|p| p.credit_left),
            Some(Decimal::ZERO)
        );
    }
}
