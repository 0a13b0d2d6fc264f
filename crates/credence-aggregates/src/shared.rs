//! Persistent (structurally shared) ordered map and set.
//!
//! [`SharedMap`] and [`SharedSet`] hold what a [`CustomerAccount`] keeps for
//! the customer's whole life (orders, receivables, payments, ids seen…). They
//! are B-trees whose nodes sit behind [`Arc`]s:
//!
//! * **Clone is O(1)**: one reference count. A clone and its original share
//!   every node until one of them changes.
//! * **A change copies only its path** (copy-on-write): at most one node
//!   of at most 16 slots per level, O(log n). A map keeps each key in the
//!   node and its value behind its own `Arc`: a search compares keys
//!   without following a pointer per comparison (the keys here are small
//!   inline ids), copying a node copies keys and pointers, never values,
//!   and changing a value copies that value alone. A set keeps its elements
//!   (small ids) in the nodes. A node owned by one map alone is changed in
//!   place, so a map that is never cloned pays no copying at all.
//! * **Small maps stay small**: an empty map allocates nothing and is two
//!   words; a node is one allocation, its reference counts, a one-word
//!   header (a branch's children, boxed apart) and its slots, with room
//!   for 1, 2, 3, 4, 6, 8, 12 or 16 entries (it grows by those steps, and
//!   spare slots are `None`, so a search needs no length). With 24-byte
//!   keys and 200-byte values a map of one entry requests 272 bytes in two
//!   allocations (node 56, value 216; std `BTreeMap`: 2,480, an 11-slot
//!   node), of 16 entries 3,992 (std: 7,536); a set of one 24-byte id 48
//!   bytes (std `BTreeSet`: 280), of 16 ids 408 (std: 936).
//!
//! Their read API mirrors std's `BTreeMap` / `BTreeSet` (`get`, `iter`,
//! `keys`, `values`, `range`, double-ended iteration, `len`, indexing…), and
//! they serialize exactly like them (a map as a map, a set as a sequence), so
//! snapshots keep their shape.
//!
//! Removal deletes empty nodes but does not merge half-empty ones, so the
//! depth stays bounded by the largest size the map ever had; the maps here
//! mostly grow.
//!
//! [`CustomerAccount`]: crate::CustomerAccount

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::ops::{Bound, Index, RangeBounds};
use std::sync::Arc;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most entries of a leaf and most children of a branch.
const MAX: usize = 16;

/// What a tree's slots hold: something with a key, cheap to clone.
trait Entry: Clone {
    type Key: Ord;

    fn key(&self) -> &Self::Key;
}

/// A map's entry: the key in the node itself, so that a search compares
/// keys without following a pointer per comparison (the account's keys are
/// small ids), and the value shared, so that copying a node copies a
/// pointer per value, never the value.
struct Slot<K, V> {
    key: K,
    value: Arc<V>,
}

impl<K: Clone, V> Clone for Slot<K, V> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            value: Arc::clone(&self.value),
        }
    }
}

impl<K: Ord + Clone, V> Entry for Slot<K, V> {
    type Key = K;

    fn key(&self) -> &K {
        &self.key
    }
}

/// A set's element, kept in the node itself: the sets hold small ids, as
/// cheap to copy as a pointer would be, and one allocation fewer each.
#[derive(Clone)]
struct Elem<T>(T);

impl<T: Ord + Clone> Entry for Elem<T> {
    type Key = T;

    fn key(&self) -> &T {
        &self.0
    }
}

/// A node: a header and its slots in one allocation behind an [`Arc`]. A
/// leaf's slots hold its entries; a branch's hold its separators, and its
/// children hang off the header. Used slots come first (`Some`), spare
/// capacity after (`None`), so a search treats `None` as larger than any
/// key and needs no length field.
struct Node<E, S: ?Sized = [Option<E>]> {
    /// A branch's children; `None` for a leaf.
    branch: Option<Box<Children<E>>>,
    slots: S,
}

/// A branch's children and the number of entries below it.
struct Children<E> {
    /// Entries in the subtree.
    len: usize,
    /// `slots[i]` (by its key): a lower bound of every key of
    /// `nodes[i + 1]` and an upper bound (exclusive) of every key of
    /// `nodes[..=i]`.
    nodes: Vec<Arc<Node<E>>>,
}

impl<E: Clone> Clone for Children<E> {
    fn clone(&self) -> Self {
        Self {
            len: self.len,
            nodes: self.nodes.clone(),
        }
    }
}

/// The slot capacities a node is made with: small steps while small (most
/// of an account's maps hold a handful of entries for the customer's whole
/// life), never more than [`MAX`].
const CAPACITIES: [usize; 8] = [1, 2, 3, 4, 6, 8, 12, 16];

/// The smallest capacity that holds `n` slots.
fn capacity_for(n: usize) -> usize {
    CAPACITIES.into_iter().find(|&c| c >= n).unwrap_or(MAX)
}

/// A node of exactly `N` slots: the used ones from `entries` (at most `N`),
/// the rest spare.
fn sized<E, I: Iterator<Item = E>, const N: usize>(
    branch: Option<Box<Children<E>>>,
    entries: &mut I,
) -> Arc<Node<E>> {
    let node: Arc<Node<E, [Option<E>; N]>> = Arc::new(Node {
        branch,
        slots: std::array::from_fn(|_| entries.next()),
    });
    node
}

/// A node with room for `capacity` slots (rounded up to one of
/// [`CAPACITIES`]) holding `entries`, which must not be more.
fn build<E>(
    capacity: usize,
    branch: Option<Box<Children<E>>>,
    mut entries: impl Iterator<Item = E>,
) -> Arc<Node<E>> {
    let entries = &mut entries;
    let node = match capacity_for(capacity) {
        1 => sized::<E, _, 1>(branch, entries),
        2 => sized::<E, _, 2>(branch, entries),
        3 => sized::<E, _, 3>(branch, entries),
        4 => sized::<E, _, 4>(branch, entries),
        6 => sized::<E, _, 6>(branch, entries),
        8 => sized::<E, _, 8>(branch, entries),
        12 => sized::<E, _, 12>(branch, entries),
        _ => sized::<E, _, MAX>(branch, entries),
    };
    debug_assert!(entries.next().is_none(), "more entries than slots");
    node
}

impl<E> Node<E> {
    /// The used slots.
    fn used(&self) -> usize {
        self.slots.partition_point(Option::is_some)
    }

    fn is_empty(&self) -> bool {
        self.slots.first().is_none_or(Option::is_none)
            && self.branch.as_ref().is_none_or(|b| b.nodes.is_empty())
    }

    /// Entries in the subtree.
    fn len(&self) -> usize {
        match &self.branch {
            None => self.used(),
            Some(children) => children.len,
        }
    }

    /// The used slots as entries (hot paths index them: every used slot is
    /// `Some`).
    fn entry(&self, i: usize) -> &E {
        self.slots[i].as_ref().expect("a used slot")
    }
}

impl<E: Entry> Node<E> {
    /// Where `key` is among the used slots (as `binary_search`).
    #[inline]
    fn search<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.search_by(|k| k.borrow().cmp(key))
    }

    /// Where the key that `probe` looks for is among the used slots;
    /// `probe` orders a slot's key against it (as `binary_search_by`).
    #[inline]
    fn search_by(&self, probe: impl Fn(&E::Key) -> Ordering) -> Result<usize, usize> {
        self.slots.binary_search_by(|s| match s {
            Some(e) => probe(e.key()),
            None => Ordering::Greater,
        })
    }

    /// The child of a branch where `key` belongs.
    #[inline]
    fn child_index<Q>(&self, key: &Q) -> usize
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.child_index_by(|k| k.borrow().cmp(key))
    }

    /// The child of a branch where the key that `probe` looks for belongs.
    #[inline]
    fn child_index_by(&self, probe: impl Fn(&E::Key) -> Ordering) -> usize {
        self.slots.partition_point(|s| {
            s.as_ref()
                .is_some_and(|s| probe(s.key()) != Ordering::Greater)
        })
    }
}

/// The node for a change: copied first when a clone shares it.
#[inline]
fn node_mut<E: Clone>(node: &mut Arc<Node<E>>) -> &mut Node<E> {
    // No `Weak` to a node is ever made, and holding `&mut` to this `Arc`
    // no one can clone it now: a count of one means `get_mut` succeeds (a
    // clone dropped meanwhile elsewhere only costs a needless copy). One
    // atomic read instead of a second `get_mut` on the hot path.
    if Arc::strong_count(node) != 1 {
        copy_node(node);
    }
    Arc::get_mut(node).expect("unique after the copy")
}

/// Replaces a shared node by a copy of its own.
#[cold]
#[inline(never)]
fn copy_node<E: Clone>(node: &mut Arc<Node<E>>) {
    let copy = build(
        node.slots.len(),
        node.branch.clone(),
        node.slots.iter().map_while(Option::clone),
    );
    *node = copy;
}

/// Puts `entry` at `at` among the used slots, moving the later ones up by
/// one. When every slot was used, the one that no longer fits (the
/// largest) is returned.
fn shift_in<E>(slots: &mut [Option<E>], at: usize, entry: E) -> Option<E> {
    let mut carry = entry;
    for slot in &mut slots[at..] {
        // A spare slot takes the carried entry and ends the move.
        carry = slot.replace(carry)?;
    }
    Some(carry)
}

/// Takes the entry at `at` out of the used slots, moving the later ones
/// down by one.
fn shift_out<E>(slots: &mut [Option<E>], at: usize) -> Option<E> {
    let removed = slots[at].take();
    for j in at + 1..slots.len() {
        let Some(next) = slots[j].take() else { break };
        slots[j - 1] = Some(next);
    }
    removed
}

/// Every entry of the full `slots`, taken out in order, then `last`.
fn take_all<E>(slots: &mut [Option<E>], last: E) -> impl Iterator<Item = E> + '_ {
    take_full(slots).chain(std::iter::once(last))
}

/// Every entry of the full `slots`, taken out in order.
fn take_full<E>(slots: &mut [Option<E>]) -> impl Iterator<Item = E> + '_ {
    slots
        .iter_mut()
        .map(|slot| slot.take().expect("a full node"))
}

/// Puts `entry` at `at` in the leaf `node`, making room when its slots are
/// all used: a larger node, or a split when the node is full. Returns the
/// split.
fn put<E: Entry>(node: &mut Arc<Node<E>>, at: usize, entry: E) -> Split<E> {
    let n = node_mut(node);
    let capacity = n.slots.len();
    if at == MAX {
        // Appending to a full leaf (ascending keys): it stays as it is.
        // The tree is no longer small: the nodes a split makes have room
        // for `MAX` at once, so that they fill without being rebuilt at
        // each step.
        return Some((entry.clone(), build(MAX, None, std::iter::once(entry))));
    }
    let last = shift_in(&mut n.slots, at, entry)?;
    if capacity < MAX {
        let grown = build(capacity + 1, None, take_all(&mut n.slots, last));
        *node = grown;
        return None;
    }
    // `MAX + 1` entries: half of them stay, the rest go to a new sibling.
    let mut all = take_all(&mut n.slots, last);
    let left = build(MAX, None, all.by_ref().take(MAX / 2));
    let mut rest = all.peekable();
    let sep = rest.peek().cloned().expect("a right half");
    let right = build(MAX, None, rest);
    *node = left;
    Some((sep, right))
}

/// Where a node split: the first entry of the new right sibling and the node.
type Split<E> = Option<(E, Arc<Node<E>>)>;

/// Inserts `entry` into the subtree. When its key is there already, the
/// old entry is replaced and returned if `replace`, else `entry` is handed
/// back and nothing changes.
fn insert_node<E: Entry>(
    node: &mut Arc<Node<E>>,
    entry: E,
    replace: bool,
) -> (Option<E>, Split<E>) {
    if node.branch.is_none() {
        return match node.search(entry.key()) {
            Ok(i) if replace => {
                let slot = &mut node_mut(node).slots[i];
                (slot.replace(entry), None)
            }
            Ok(_) => (Some(entry), None),
            Err(i) => (None, put(node, i, entry)),
        };
    }
    let i = node.child_index(entry.key());
    let n = node_mut(node);
    let children = n.branch.as_mut().expect("a branch");
    let (old, split) = insert_node(&mut children.nodes[i], entry, replace);
    if old.is_none() {
        children.len += 1;
    }
    let Some((sep, right)) = split else {
        return (old, None);
    };
    let (len, capacity) = (children.nodes.len(), children.nodes.capacity());
    if len == capacity {
        // Doubling, never beyond `MAX + 1`.
        children
            .nodes
            .reserve_exact(capacity.min((MAX + 1).saturating_sub(len)).max(1));
    }
    children.nodes.insert(i + 1, right);
    let full = children.nodes.len() > MAX;
    // At most `MAX` separators for `MAX + 1` children: it fits.
    let overflow = shift_in(&mut n.slots, i, sep);
    debug_assert!(overflow.is_none(), "a branch holds MAX separators");
    if !full {
        return (old, None);
    }
    // `MAX + 1` children: split them, with their `MAX` separators, around
    // the separator promoted to the parent.
    let children = n.branch.as_mut().expect("a branch");
    let at = if i + 1 == MAX { MAX } else { MAX / 2 };
    let right_nodes = children.nodes.split_off(at);
    let right_len: usize = right_nodes.iter().map(|c| c.len()).sum();
    children.len -= right_len;
    children.nodes.shrink_to_fit();
    let left_children = n.branch.take();
    // `MAX` separators: the slots are full.
    let mut seps = take_full(&mut n.slots);
    let left = build(MAX, left_children, seps.by_ref().take(at - 1));
    let promoted = seps.next().expect("a promoted separator");
    let right = build(
        MAX,
        Some(Box::new(Children {
            len: right_len,
            nodes: right_nodes,
        })),
        seps,
    );
    *node = left;
    (old, Some((promoted, right)))
}

/// Removes the entry whose key `probe` looks for (see
/// [`Node::search_by`]), if there, from the subtree.
fn remove_node<E: Entry>(
    node: &mut Arc<Node<E>>,
    probe: &impl Fn(&E::Key) -> Ordering,
) -> Option<E> {
    if node.branch.is_none() {
        let i = node.search_by(probe).ok()?;
        return shift_out(&mut node_mut(node).slots, i);
    }
    let i = node.child_index_by(probe);
    let n = node_mut(node);
    let children = n.branch.as_mut().expect("a branch");
    let removed = remove_node(&mut children.nodes[i], probe)?;
    children.len -= 1;
    if children.nodes[i].is_empty() {
        children.nodes.remove(i);
        if n.slots[0].is_some() {
            shift_out(&mut n.slots, i.saturating_sub(1));
        }
    }
    Some(removed)
}

/// The B-tree both collections are made of.
struct Tree<E> {
    root: Option<Arc<Node<E>>>,
}

impl<E> Tree<E> {
    const fn new() -> Self {
        Self { root: None }
    }

    fn len(&self) -> usize {
        self.root.as_ref().map_or(0, |root| root.len())
    }

    fn iter(&self) -> RawIter<'_, E> {
        match &self.root {
            None => RawIter::empty(),
            Some(root) => {
                let mut front = Cursor::new();
                front.descend_first(root);
                let mut back = Cursor::new();
                back.descend_last(root);
                RawIter {
                    front,
                    back,
                    done: false,
                    remaining: Some(root.len()),
                }
            }
        }
    }

    fn ptr_eq(&self, other: &Self) -> bool {
        match (&self.root, &other.root) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl<E: Entry> Tree<E> {
    #[inline]
    fn get<Q>(&self, key: &Q) -> Option<&E>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get_by(|k| k.borrow().cmp(key))
    }

    /// The entry whose key `probe` looks for (see [`Node::search_by`]).
    #[inline]
    fn get_by(&self, probe: impl Fn(&E::Key) -> Ordering) -> Option<&E> {
        let mut node = self.root.as_deref()?;
        loop {
            match &node.branch {
                None => return node.search_by(&probe).ok().map(|i| node.entry(i)),
                Some(children) => node = &children.nodes[node.child_index_by(&probe)],
            }
        }
    }

    /// The slot holding `key`'s entry, copying the shared nodes on its path
    /// (also when `key` is absent: harmless, and rare where it is used).
    fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut E>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut node = node_mut(self.root.as_mut()?);
        loop {
            if node.branch.is_none() {
                let i = node.search(key).ok()?;
                return node.slots[i].as_mut();
            }
            let i = node.child_index(key);
            let children = node.branch.as_mut().expect("a branch");
            node = node_mut(&mut children.nodes[i]);
        }
    }

    /// Inserts `entry`; see [`insert_node`] for `replace`.
    fn insert(&mut self, entry: E, replace: bool) -> Option<E> {
        let Some(root) = self.root.as_mut() else {
            self.root = Some(build(1, None, std::iter::once(entry)));
            return None;
        };
        let (old, split) = insert_node(root, entry, replace);
        if let Some((sep, right)) = split {
            let left = self.root.take().expect("a root was there");
            let len = left.len() + right.len();
            let mut nodes = Vec::with_capacity(4);
            nodes.extend([left, right]);
            self.root = Some(build(
                MAX,
                Some(Box::new(Children { len, nodes })),
                std::iter::once(sep),
            ));
        }
        old
    }

    fn remove<Q>(&mut self, key: &Q) -> Option<E>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.remove_by(|k| k.borrow().cmp(key))
    }

    /// Removes the entry whose key `probe` looks for (see
    /// [`Node::search_by`]).
    fn remove_by(&mut self, probe: impl Fn(&E::Key) -> Ordering) -> Option<E> {
        // A miss copies the shared nodes on its path: harmless, and cheaper
        // than searching twice on every hit.
        let removed = remove_node(self.root.as_mut()?, &probe)?;
        // Drop an empty root; lift a branch's only child.
        loop {
            match self.root.as_deref() {
                Some(node) if node.is_empty() => self.root = None,
                Some(Node {
                    branch: Some(children),
                    ..
                }) if children.nodes.len() == 1 => {
                    self.root = Some(Arc::clone(&children.nodes[0]));
                }
                _ => break,
            }
        }
        Some(removed)
    }

    fn range<Q, R>(&self, range: R) -> RawIter<'_, E>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let Some(root) = self.root.as_deref() else {
            return RawIter::empty();
        };
        let front = Cursor::seek_front(root, range.start_bound());
        let back = Cursor::seek_back(root, range.end_bound());
        match (front, back) {
            (Some(front), Some(back)) if front.entry().key() <= back.entry().key() => RawIter {
                front,
                back,
                done: false,
                remaining: None,
            },
            _ => RawIter::empty(),
        }
    }
}

impl<E> Clone for Tree<E> {
    fn clone(&self) -> Self {
        Self {
            root: self.root.clone(),
        }
    }
}

/// A position in a tree: the path of branches from the root and a slot of
/// a leaf.
struct Cursor<'a, E> {
    path: Vec<(&'a [Arc<Node<E>>], usize)>,
    /// The leaf's used slots.
    leaf: &'a [Option<E>],
    at: usize,
}

impl<'a, E> Cursor<'a, E> {
    fn new() -> Self {
        Self {
            path: Vec::new(),
            leaf: &[],
            at: 0,
        }
    }

    fn entry(&self) -> &'a E {
        self.leaf[self.at].as_ref().expect("a used slot")
    }

    fn enter(&mut self, leaf: &'a Node<E>) {
        self.leaf = &leaf.slots[..leaf.used()];
    }

    fn descend_first(&mut self, mut node: &'a Node<E>) {
        loop {
            match &node.branch {
                None => {
                    self.enter(node);
                    self.at = 0;
                    return;
                }
                Some(children) => {
                    self.path.push((&children.nodes, 0));
                    node = &children.nodes[0];
                }
            }
        }
    }

    fn descend_last(&mut self, mut node: &'a Node<E>) {
        loop {
            match &node.branch {
                None => {
                    self.enter(node);
                    self.at = self.leaf.len().saturating_sub(1);
                    return;
                }
                Some(children) => {
                    let last = children.nodes.len() - 1;
                    self.path.push((&children.nodes, last));
                    node = &children.nodes[last];
                }
            }
        }
    }

    /// Moves to the next slot; false at the end.
    fn step_forward(&mut self) -> bool {
        if self.at + 1 < self.leaf.len() {
            self.at += 1;
            return true;
        }
        while let Some((children, i)) = self.path.pop() {
            if i + 1 < children.len() {
                self.path.push((children, i + 1));
                self.descend_first(&children[i + 1]);
                return true;
            }
        }
        false
    }

    /// Moves to the previous slot; false at the start.
    fn step_back(&mut self) -> bool {
        if self.at > 0 {
            self.at -= 1;
            return true;
        }
        while let Some((children, i)) = self.path.pop() {
            if i > 0 {
                self.path.push((children, i - 1));
                self.descend_last(&children[i - 1]);
                return true;
            }
        }
        false
    }
}

impl<'a, E: Entry> Cursor<'a, E> {
    /// Descends towards `key`, leaving the cursor in the leaf where it
    /// belongs; returns that leaf's used slots.
    fn descend_to<Q>(&mut self, mut node: &'a Node<E>, key: &Q) -> &'a [Option<E>]
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        loop {
            match &node.branch {
                None => {
                    self.enter(node);
                    return self.leaf;
                }
                Some(children) => {
                    let i = node.child_index(key);
                    self.path.push((&children.nodes, i));
                    node = &children.nodes[i];
                }
            }
        }
    }

    /// The first slot within `bound` from below, if any.
    fn seek_front<Q>(root: &'a Node<E>, bound: Bound<&Q>) -> Option<Self>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut cursor = Self::new();
        let (key, inclusive) = match bound {
            Bound::Unbounded => {
                cursor.descend_first(root);
                return Some(cursor);
            }
            Bound::Included(key) => (key, true),
            Bound::Excluded(key) => (key, false),
        };
        let leaf = cursor.descend_to(root, key);
        let at = leaf.partition_point(|e| {
            let k = e.as_ref().expect("a used slot").key().borrow();
            if inclusive { k < key } else { k <= key }
        });
        if at < leaf.len() {
            cursor.at = at;
            return Some(cursor);
        }
        cursor.at = leaf.len() - 1;
        cursor.step_forward().then_some(cursor)
    }

    /// The last slot within `bound` from above, if any.
    fn seek_back<Q>(root: &'a Node<E>, bound: Bound<&Q>) -> Option<Self>
    where
        E::Key: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut cursor = Self::new();
        let (key, inclusive) = match bound {
            Bound::Unbounded => {
                cursor.descend_last(root);
                return Some(cursor);
            }
            Bound::Included(key) => (key, true),
            Bound::Excluded(key) => (key, false),
        };
        let leaf = cursor.descend_to(root, key);
        let at = leaf.partition_point(|e| {
            let k = e.as_ref().expect("a used slot").key().borrow();
            if inclusive { k <= key } else { k < key }
        });
        if at > 0 {
            cursor.at = at - 1;
            return Some(cursor);
        }
        cursor.at = 0;
        cursor.step_back().then_some(cursor)
    }
}

/// Double-ended iteration over a tree's slots.
struct RawIter<'a, E> {
    /// The next slot from the front.
    front: Cursor<'a, E>,
    /// The next slot from the back.
    back: Cursor<'a, E>,
    done: bool,
    /// Known for a whole tree, not for a range.
    remaining: Option<usize>,
}

impl<E> RawIter<'_, E> {
    fn empty() -> Self {
        Self {
            front: Cursor::new(),
            back: Cursor::new(),
            done: true,
            remaining: Some(0),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match (self.done, self.remaining) {
            (true, _) => (0, Some(0)),
            (false, Some(n)) => (n, Some(n)),
            (false, None) => (1, None),
        }
    }
}

impl<'a, E> Iterator for RawIter<'a, E> {
    type Item = &'a E;

    fn next(&mut self) -> Option<&'a E> {
        if self.done {
            return None;
        }
        let entry = self.front.entry();
        if std::ptr::eq(entry, self.back.entry()) || !self.front.step_forward() {
            self.done = true;
        }
        if let Some(n) = self.remaining.as_mut() {
            *n = n.saturating_sub(1);
        }
        Some(entry)
    }
}

impl<'a, E> DoubleEndedIterator for RawIter<'a, E> {
    fn next_back(&mut self) -> Option<&'a E> {
        if self.done {
            return None;
        }
        let entry = self.back.entry();
        if std::ptr::eq(entry, self.front.entry()) || !self.back.step_back() {
            self.done = true;
        }
        if let Some(n) = self.remaining.as_mut() {
            *n = n.saturating_sub(1);
        }
        Some(entry)
    }
}

// ----- SharedMap ----------------------------------------------------------

/// A persistent ordered map: a B-tree of shared nodes holding keys and
/// shared values. See the [module docs](self).
pub struct SharedMap<K, V>(Tree<Slot<K, V>>);

impl<K, V> SharedMap<K, V> {
    /// An empty map (allocates nothing).
    pub const fn new() -> Self {
        Self(Tree::new())
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the map has no entry.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Every entry in key order (double-ended).
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.0.iter())
    }

    /// Every key in order (double-ended).
    pub fn keys(&self) -> Keys<'_, K, V> {
        Keys(self.iter())
    }

    /// Every value in key order (double-ended).
    pub fn values(&self) -> Values<'_, K, V> {
        Values(self.iter())
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.iter().next()
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.iter().next_back()
    }

    /// True when both maps are the same allocation (a clone not changed
    /// since), so equal without comparing entries.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.0.ptr_eq(&other.0)
    }
}

impl<K: Ord + Clone, V> SharedMap<K, V> {
    /// The value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get(key).map(|e| &*e.value)
    }

    /// True when `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get(key).is_some()
    }

    /// The entries whose keys fall in `range`, in order (double-ended). An
    /// empty or inverted range yields nothing.
    pub fn range<Q, R>(&self, range: R) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        Iter(self.0.range(range))
    }
}

impl<K: Ord + Clone, V: Clone> SharedMap<K, V> {
    /// A mutable reference to the value for `key`, copying what is shared
    /// with a clone: the nodes on its path and the entry itself.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get_mut(key).map(|e| Arc::make_mut(&mut e.value))
    }

    /// Sets the value for `key`, returning the previous one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.0
            .insert(
                Slot {
                    key,
                    value: Arc::new(value),
                },
                true,
            )
            .map(into_value)
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.remove(key).map(into_value)
    }
}

/// The value of an entry taken out of a map (copied if a clone still holds
/// it).
fn into_value<K, V: Clone>(entry: Slot<K, V>) -> V {
    Arc::try_unwrap(entry.value).unwrap_or_else(|shared| (*shared).clone())
}

impl<K, V> Clone for SharedMap<K, V> {
    /// O(1): the clone shares every node.
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<K, V> Default for SharedMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for SharedMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (self.ptr_eq(other) || self.iter().eq(other.iter()))
    }
}

impl<K: Eq, V: Eq> Eq for SharedMap<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SharedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, Q, V> Index<&Q> for SharedMap<K, V>
where
    K: Borrow<Q> + Ord + Clone,
    Q: Ord + ?Sized,
{
    type Output = V;

    /// The value for `key`.
    ///
    /// # Panics
    ///
    /// When `key` is not in the map.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("key not in the map")
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for SharedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        map.extend(iter);
        map
    }
}

impl<K: Ord + Clone, V: Clone> Extend<(K, V)> for SharedMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<'a, K, V> IntoIterator for &'a SharedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: Serialize, V: Serialize> Serialize for SharedMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, K, V> Deserialize<'de> for SharedMap<K, V>
where
    K: Deserialize<'de> + Ord + Clone,
    V: Deserialize<'de> + Clone,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
        where
            K: Deserialize<'de> + Ord + Clone,
            V: Deserialize<'de> + Clone,
        {
            type Value = SharedMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = SharedMap::new();
                while let Some((k, v)) = access.next_entry()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// An iterator over a [`SharedMap`]'s entries or a range of them.
pub struct Iter<'a, K, V>(RawIter<'a, Slot<K, V>>);

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| (&e.key, &*e.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|e| (&e.key, &*e.value))
    }
}

impl<K, V> FusedIterator for Iter<'_, K, V> {}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("done", &self.0.done)
            .field("remaining", &self.0.remaining)
            .finish_non_exhaustive()
    }
}

/// The keys of a [`SharedMap`], in order.
#[derive(Debug)]
pub struct Keys<'a, K, V>(Iter<'a, K, V>);

impl<'a, K, V> Iterator for Keys<'a, K, V> {
    type Item = &'a K;

    fn next(&mut self) -> Option<&'a K> {
        self.0.next().map(|(k, _)| k)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Keys<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, _)| k)
    }
}

impl<K, V> FusedIterator for Keys<'_, K, V> {}

/// The values of a [`SharedMap`], in key order.
#[derive(Debug)]
pub struct Values<'a, K, V>(Iter<'a, K, V>);

impl<'a, K, V> Iterator for Values<'a, K, V> {
    type Item = &'a V;

    fn next(&mut self) -> Option<&'a V> {
        self.0.next().map(|(_, v)| v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Values<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(_, v)| v)
    }
}

impl<K, V> FusedIterator for Values<'_, K, V> {}

// ----- SharedSet ----------------------------------------------------------

/// A persistent ordered set: a B-tree of shared nodes holding the elements
/// in place. See the [module docs](self).
pub struct SharedSet<T>(Tree<Elem<T>>);

impl<T> SharedSet<T> {
    /// An empty set (allocates nothing).
    pub const fn new() -> Self {
        Self(Tree::new())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the set has no element.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Every element in order (double-ended).
    pub fn iter(&self) -> SetIter<'_, T> {
        SetIter(self.0.iter())
    }

    /// The smallest element.
    pub fn first(&self) -> Option<&T> {
        self.iter().next()
    }

    /// The largest element.
    pub fn last(&self) -> Option<&T> {
        self.iter().next_back()
    }

    /// True when both sets are the same allocation (a clone not changed
    /// since), so equal without comparing elements.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.0.ptr_eq(&other.0)
    }
}

impl<T: Ord + Clone> SharedSet<T> {
    /// True when `value` is in the set.
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get(value).is_some()
    }

    /// The elements that fall in `range`, in order (double-ended).
    pub fn range<Q, R>(&self, range: R) -> SetIter<'_, T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        SetIter(self.0.range(range))
    }

    /// Adds `value`; false when it was already there (then the set keeps
    /// its element, as std's does).
    pub fn insert(&mut self, value: T) -> bool {
        self.0.insert(Elem(value), false).is_none()
    }

    /// Removes `value`; false when it was not there.
    pub fn remove<Q>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.remove(value).is_some()
    }

    /// The element equal to `value`, if any.
    pub fn get<Q>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.get(value).map(|e| &e.0)
    }

    /// Adds `value`, replacing an equal element, which it returns (std's
    /// `BTreeSet::replace`).
    pub fn replace(&mut self, value: T) -> Option<T> {
        self.0.insert(Elem(value), true).map(|e| e.0)
    }

    /// Removes the element equal to `value` and returns it (std's
    /// `BTreeSet::take`).
    pub fn take<Q>(&mut self, value: &Q) -> Option<T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.remove(value).map(|e| e.0)
    }

    /// The element that `probe` looks for: `probe` orders an element
    /// against it, as [`slice::binary_search_by`]'s function does, and must
    /// agree with the elements' order. For elements whose order some
    /// borrowed form cannot give (a key in two parts, say).
    pub(crate) fn get_by(&self, probe: impl Fn(&T) -> Ordering) -> Option<&T> {
        self.0.get_by(probe).map(|e| &e.0)
    }

    /// Removes the element that `probe` looks for (see
    /// [`SharedSet::get_by`]) and returns it.
    pub(crate) fn take_by(&mut self, probe: impl Fn(&T) -> Ordering) -> Option<T> {
        self.0.remove_by(probe).map(|e| e.0)
    }
}

impl<T> Clone for SharedSet<T> {
    /// O(1): the clone shares every node.
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for SharedSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: PartialEq> PartialEq for SharedSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (self.ptr_eq(other) || self.iter().eq(other.iter()))
    }
}

impl<T: Eq> Eq for SharedSet<T> {}

impl<T: fmt::Debug> fmt::Debug for SharedSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Ord + Clone> FromIterator<T> for SharedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut set = Self::new();
        set.extend(iter);
        set
    }
}

impl<T: Ord + Clone> Extend<T> for SharedSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for value in iter {
            self.insert(value);
        }
    }
}

impl<'a, T> IntoIterator for &'a SharedSet<T> {
    type Item = &'a T;
    type IntoIter = SetIter<'a, T>;

    fn into_iter(self) -> SetIter<'a, T> {
        self.iter()
    }
}

impl<T: Serialize> Serialize for SharedSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for value in self {
            seq.serialize_element(value)?;
        }
        seq.end()
    }
}

impl<'de, T> Deserialize<'de> for SharedSet<T>
where
    T: Deserialize<'de> + Ord + Clone,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetVisitor<T>(PhantomData<T>);

        impl<'de, T> Visitor<'de> for SetVisitor<T>
        where
            T: Deserialize<'de> + Ord + Clone,
        {
            type Value = SharedSet<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut set = SharedSet::new();
                while let Some(value) = access.next_element()? {
                    set.insert(value);
                }
                Ok(set)
            }
        }

        deserializer.deserialize_seq(SetVisitor(PhantomData))
    }
}

/// An iterator over a [`SharedSet`]'s elements or a range of them.
pub struct SetIter<'a, T>(RawIter<'a, Elem<T>>);

impl<'a, T> Iterator for SetIter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        self.0.next().map(|e| &e.0)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a, T> DoubleEndedIterator for SetIter<'a, T> {
    fn next_back(&mut self) -> Option<&'a T> {
        self.0.next_back().map(|e| &e.0)
    }
}

impl<T> FusedIterator for SetIter<'_, T> {}

impl<T> fmt::Debug for SetIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetIter")
            .field("done", &self.0.done)
            .field("remaining", &self.0.remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::ops::Bound;

    use proptest::prelude::*;

    use super::{CAPACITIES, Entry, MAX, Node, SharedMap, SharedSet, Tree};

    /// Checks the layout invariants of every node of `tree`: used slots
    /// first, keys strictly ascending within and across nodes (separators
    /// bounding their children), slot counts among [`CAPACITIES`], a
    /// branch's children one more than its separators and at most `MAX`,
    /// no empty node below the root, entry counts that add up.
    fn check_structure<E: Entry>(tree: &Tree<E>) {
        fn walk<'a, E: Entry>(
            node: &'a Node<E>,
            lower: Option<&'a E::Key>,
            upper: Option<&'a E::Key>,
            is_root: bool,
        ) -> usize {
            let used = node.used();
            assert!(
                node.slots[used..].iter().all(Option::is_none),
                "a gap in the slots"
            );
            assert!(CAPACITIES.contains(&node.slots.len()), "an odd capacity");
            let keys: Vec<&E::Key> = (0..used).map(|i| node.entry(i).key()).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys out of order");
            if let (Some(lower), Some(first)) = (lower, keys.first()) {
                assert!(lower <= *first, "a key below its separator");
            }
            if let (Some(upper), Some(last)) = (upper, keys.last()) {
                assert!(*last < upper, "a key at or above the next separator");
            }
            match &node.branch {
                None => {
                    assert!(is_root || used > 0, "an empty leaf below the root");
                    used
                }
                Some(children) => {
                    assert_eq!(children.nodes.len(), used + 1, "children and separators");
                    assert!(children.nodes.len() <= MAX, "too many children");
                    let mut total = 0;
                    for (i, child) in children.nodes.iter().enumerate() {
                        let lo = if i == 0 { lower } else { Some(keys[i - 1]) };
                        let hi = keys.get(i).copied().or(upper);
                        total += walk(child, lo, hi, false);
                    }
                    assert_eq!(children.len, total, "a branch's entry count");
                    total
                }
            }
        }
        if let Some(root) = &tree.root {
            assert!(!root.is_empty(), "an empty root");
            assert_eq!(walk(root, None, None, true), tree.len());
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Bump(u16),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..600, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0u16..600).prop_map(Op::Remove),
            1 => (0u16..600).prop_map(Op::Bump),
            1 => Just(Op::Snapshot),
        ]
    }

    fn bound(kind: u8, key: u16) -> Bound<u16> {
        match kind % 3 {
            0 => Bound::Unbounded,
            1 => Bound::Included(key),
            _ => Bound::Excluded(key),
        }
    }

    fn assert_same(shared: &SharedMap<u16, u32>, model: &BTreeMap<u16, u32>) {
        check_structure(&shared.0);
        assert_eq!(shared.len(), model.len());
        assert_eq!(shared.is_empty(), model.is_empty());
        assert!(shared.iter().eq(model.iter()));
        assert!(shared.iter().rev().eq(model.iter().rev()));
        assert!(shared.keys().eq(model.keys()));
        assert!(shared.values().rev().eq(model.values().rev()));
        assert_eq!(shared.first_key_value(), model.first_key_value());
        assert_eq!(shared.last_key_value(), model.last_key_value());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every operation agrees with std's `BTreeMap`, and every snapshot
        /// (clone) taken along the way keeps the contents it had, however
        /// the live map changes after it.
        #[test]
        fn behaves_like_btreemap_and_snapshots_never_change(
            ops in proptest::collection::vec(op(), 1..1500),
            probes in proptest::collection::vec((any::<u8>(), 0u16..620, any::<u8>(), 0u16..620), 8),
        ) {
            let mut shared = SharedMap::new();
            let mut model = BTreeMap::new();
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(shared.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(shared.remove(&k), model.remove(&k)),
                    Op::Bump(k) => {
                        let a = shared.get_mut(&k).map(|v| { *v = v.wrapping_add(1); *v });
                        let b = model.get_mut(&k).map(|v| { *v = v.wrapping_add(1); *v });
                        prop_assert_eq!(a, b);
                    }
                    Op::Snapshot => snapshots.push((shared.clone(), model.clone())),
                }
            }
            assert_same(&shared, &model);
            for k in 0..620u16 {
                prop_assert_eq!(shared.get(&k), model.get(&k));
                prop_assert_eq!(shared.contains_key(&k), model.contains_key(&k));
            }
            for (lo_kind, lo, hi_kind, hi) in probes {
                let range = (bound(lo_kind, lo), bound(hi_kind, hi));
                let valid = match range {
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                        a < b || (a == b && matches!(range, (Bound::Included(_), Bound::Included(_))))
                    }
                    _ => true,
                };
                if valid {
                    prop_assert!(shared.range(range).eq(model.range(range)));
                    prop_assert!(shared.range(range).rev().eq(model.range(range).rev()));
                    // Meeting in the middle from both ends yields each entry once.
                    let mut both = shared.range(range);
                    let mut seen = Vec::new();
                    loop {
                        match (both.next(), both.next_back()) {
                            (None, None) => break,
                            (a, b) => seen.extend(a.into_iter().chain(b)),
                        }
                    }
                    seen.sort();
                    prop_assert!(seen.into_iter().eq(model.range(range)));
                } else {
                    prop_assert_eq!(shared.range(range).count(), 0);
                }
            }
            for (snapshot, expected) in &snapshots {
                assert_same(snapshot, expected);
            }
        }

        #[test]
        fn sets_behave_like_btreeset(ops in proptest::collection::vec((any::<bool>(), 0u16..300), 1..800)) {
            let mut shared = SharedSet::new();
            let mut model = BTreeSet::new();
            let mut snapshots = Vec::new();
            for (k, (add, v)) in ops.into_iter().enumerate() {
                if k % 97 == 0 {
                    snapshots.push((shared.clone(), model.clone()));
                }
                if add {
                    prop_assert_eq!(shared.insert(v), model.insert(v));
                } else {
                    prop_assert_eq!(shared.remove(&v), model.remove(&v));
                }
            }
            check_structure(&shared.0);
            prop_assert!(shared.iter().eq(model.iter()));
            prop_assert!(shared.iter().rev().eq(model.iter().rev()));
            prop_assert!(shared.range(100..200).eq(model.range(100..200)));
            prop_assert_eq!(shared.first(), model.first());
            prop_assert_eq!(shared.last(), model.last());
            prop_assert_eq!(shared.len(), model.len());
            for (snapshot, expected) in &snapshots {
                check_structure(&snapshot.0);
                prop_assert!(snapshot.iter().eq(expected.iter()));
                prop_assert_eq!(snapshot.len(), expected.len());
            }
        }
    }

    #[test]
    fn a_mutation_after_a_clone_does_not_reach_the_clone() {
        let mut live: SharedMap<u32, String> = (0..1000).map(|i| (i, i.to_string())).collect();
        let snapshot = live.clone();
        assert!(live.ptr_eq(&snapshot));
        live.get_mut(&500).expect("present").push('!');
        live.insert(2000, "new".into());
        live.remove(&3);
        assert!(!live.ptr_eq(&snapshot));
        assert_eq!(snapshot.len(), 1000);
        assert_eq!(snapshot[&500], "500");
        assert_eq!(snapshot.get(&2000), None);
        assert_eq!(snapshot.get(&3).map(String::as_str), Some("3"));
        assert_eq!(live[&500], "500!");
        assert_eq!(live.len(), 1000);
    }

    #[test]
    fn ascending_descending_and_interleaved_inserts_stay_ordered() {
        let orders: [Vec<u32>; 3] = [
            (0..5000).collect(),
            (0..5000).rev().collect(),
            (0..5000).map(|i| (i * 7919) % 5000).collect(),
        ];
        for keys in orders {
            let mut shared = SharedMap::new();
            let mut model = BTreeMap::new();
            for &k in &keys {
                shared.insert(k, k);
                model.insert(k, k);
            }
            check_structure(&shared.0);
            assert!(shared.iter().eq(model.iter()));
            assert!(
                shared
                    .range(1234..=4321)
                    .rev()
                    .eq(model.range(1234..=4321).rev())
            );
            // Drain from the front as open items are, checking as it shrinks.
            for &k in keys.iter().take(4000) {
                assert_eq!(shared.remove(&k), model.remove(&k));
            }
            assert!(shared.iter().rev().eq(model.iter().rev()));
            assert_eq!(shared.len(), 1000);
            check_structure(&shared.0);
        }
    }

    #[test]
    fn a_small_map_is_one_node_of_a_small_capacity() {
        let mut map = SharedMap::new();
        for n in 1..=MAX as u32 {
            map.insert(n, n);
            let root = map.0.root.as_ref().expect("a root");
            assert!(root.branch.is_none());
            assert_eq!(root.slots.len(), super::capacity_for(n as usize));
            assert_eq!(root.used(), n as usize);
        }
        map.insert(0, 0);
        assert!(map.0.root.as_ref().is_some_and(|r| r.branch.is_some()));
        assert_eq!(std::mem::size_of::<SharedMap<u32, u32>>(), 16);
        assert_eq!(std::mem::size_of::<SharedSet<u32>>(), 16);
    }

    #[test]
    fn empty_and_drained_maps_hold_no_node() {
        let mut map = SharedMap::new();
        assert!(map.0.root.is_none());
        for i in 0..100u32 {
            map.insert(i, i);
        }
        for i in 0..100u32 {
            assert_eq!(map.remove(&i), Some(i));
        }
        assert!(map.0.root.is_none());
        assert_eq!(map, SharedMap::new());
        assert_eq!(map.iter().next(), None);
        assert_eq!(map.range(3..9).next_back(), None);
    }

    #[test]
    fn serializes_like_std_collections() {
        let map: SharedMap<String, u32> = (0..40).map(|i| (format!("k{i}"), i)).collect();
        let std_map: BTreeMap<String, u32> = (0..40).map(|i| (format!("k{i}"), i)).collect();
        let json = serde_json::to_string(&map).expect("serializes");
        assert_eq!(json, serde_json::to_string(&std_map).expect("serializes"));
        let back: SharedMap<String, u32> = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, map);

        let set: SharedSet<(u8, String)> = (0..40).map(|i| (i % 3, format!("v{i}"))).collect();
        let std_set: BTreeSet<(u8, String)> = (0..40).map(|i| (i % 3, format!("v{i}"))).collect();
        let json = serde_json::to_string(&set).expect("serializes");
        assert_eq!(json, serde_json::to_string(&std_set).expect("serializes"));
        let back: SharedSet<(u8, String)> = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, set);
    }

    #[test]
    fn shared_collections_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SharedMap<String, Vec<u8>>>();
        assert_send_sync::<SharedSet<String>>();
    }
}
