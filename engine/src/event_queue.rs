//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Events scheduled for the same instant pop in the order they were scheduled
//! (FIFO), which makes runs reproducible. Cancellation is lazy: the owner of a
//! cancellable event bumps a generation counter and the stale event is skipped
//! when it is popped, never searched for.
//!
//! The heap holds 16-byte keys — time, sequence number and the slot of the
//! event in a side table — so its sifting moves half as much as with the
//! events inline. Many events are scheduled a few microseconds ahead (a core's
//! wake-up, a short burst) and are the very next to happen: the earliest event
//! is kept out of the heap, in `first`, so such an event costs no heap push
//! and pop. The pop order is the same `(time, sequence)` order either way.

use crate::time::SimTime;
use std::collections::BinaryHeap;

/// Sequence numbers are 32 bits in a key; after 2³² pushes the pending events
/// are renumbered in order (after 2⁸ in unit tests, so they cover it).
const SEQ_LIMIT: u64 = if cfg!(test) { 1 << 8 } else { 1 << 32 };

/// Time in the high 64 bits, then the sequence number (32 bits), then the
/// slot (32 bits): one integer comparison orders by `(time, sequence)`.
fn key(time: SimTime, seq: u64, slot: u32) -> u128 {
    (u128::from(time.0) << 64) | (u128::from(seq) << 32) | u128::from(slot)
}

fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

fn slot_of(key: u128) -> usize {
    key as u32 as usize
}

/// A priority queue of events keyed by `(time, insertion order)`.
pub struct EventQueue<E> {
    /// The earliest pending event, when it is not in the heap: every key in
    /// the heap is greater. Its key's slot bits are unused.
    first: Option<(u128, E)>,
    /// Inverted keys (`!key`), so that the max-heap pops the earliest.
    heap: BinaryHeap<u128>,
    /// The events of the heap's keys, by slot.
    events: Vec<Option<E>>,
    /// Slots free for reuse.
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            first: None,
            heap: BinaryHeap::with_capacity(64),
            events: Vec::with_capacity(64),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// Files `event` under `key` (its slot bits clear) in the heap.
    fn push_heap(&mut self, key: u128, event: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.events[s as usize] = Some(event);
                s
            }
            None => {
                self.events.push(Some(event));
                (self.events.len() - 1) as u32
            }
        };
        self.heap.push(!(key | u128::from(slot)));
    }

    /// Schedules `event` at `time`. *O*(log *N*).
    pub fn push(&mut self, time: SimTime, event: E) {
        if self.next_seq == SEQ_LIMIT {
            self.renumber();
        }
        let new = key(time, self.next_seq, 0);
        self.next_seq += 1;
        match &self.first {
            Some((first, _)) if new < *first => {
                if let Some((old, e)) = self.first.replace((new, event)) {
                    self.push_heap(old, e);
                }
            }
            Some(_) => self.push_heap(new, event),
            None if self.heap.peek().is_none_or(|top| new < !top) => {
                self.first = Some((new, event));
            }
            None => self.push_heap(new, event),
        }
    }

    /// Removes and returns the earliest event (FIFO among equal times). *O*(log *N*).
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if let Some((k, e)) = self.first.take() {
            return Some((time_of(k), e));
        }
        let k = !self.heap.pop()?;
        let slot = slot_of(k);
        let e = self.events[slot].take()?;
        self.free.push(slot as u32);
        Some((time_of(k), e))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        match &self.first {
            Some((k, _)) => Some(time_of(*k)),
            None => self.heap.peek().map(|t| time_of(!t)),
        }
    }

    /// Drops every pending event for which `live` is false, keeping the order
    /// of the rest. *O*(*N*); the kernel calls it rarely, to bound memory.
    pub fn retain(&mut self, mut live: impl FnMut(&E) -> bool) {
        if self.first.as_ref().is_some_and(|(_, e)| !live(e)) {
            self.first = None;
        }
        let mut keys = std::mem::take(&mut self.heap).into_vec();
        keys.retain(|&t| {
            let slot = slot_of(!t);
            let keep = self.events[slot].as_ref().is_some_and(&mut live);
            if !keep {
                self.events[slot] = None;
                self.free.push(slot as u32);
            }
            keep
        });
        self.heap = BinaryHeap::from(keys);
    }

    /// Gives the pending events sequence numbers 0, 1, … in their order.
    fn renumber(&mut self) {
        let mut keys: Vec<u128> = self.heap.drain().map(|t| !t).collect();
        keys.sort_unstable();
        // `first` precedes every key in the heap: it takes number 0.
        let offset = u64::from(self.first.is_some());
        if let Some((k, _)) = &mut self.first {
            *k = key(time_of(*k), 0, 0);
        }
        self.heap = keys
            .into_iter()
            .zip(offset..)
            .map(|(k, seq)| !key(time_of(k), seq, slot_of(k) as u32))
            .collect();
        self.next_seq = offset + self.heap.len() as u64;
    }

    /// Number of pending events (including stale ones not yet skipped).
    pub fn len(&self) -> usize {
        self.heap.len() + usize::from(self.first.is_some())
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'b');
        q.push(SimTime(2), 'a');
        q.push(SimTime(5), 'c');
        q.push(SimTime(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn pops_in_time_then_insertion_order_after_retain() {
        let mut q = EventQueue::new();
        let mut x: u64 = 12345;
        let mut pushed = Vec::new();
        for i in 0..2000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let t = (x >> 33) % 100;
            q.push(SimTime(t), i);
            pushed.push((t, i));
        }
        q.retain(|i| i % 3 != 0);
        pushed.retain(|(_, i)| i % 3 != 0);
        pushed.sort();
        let popped: Vec<(u64, u64)> =
            std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        assert_eq!(popped, pushed);
    }

    #[test]
    fn interleaved_pushes_pops_and_sweeps_match_a_sorted_reference() {
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let (mut now, mut seq) = (0u64, 0u64);
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 997 == 0 {
                // Cancelled events swept out, as the kernel's compaction does.
                q.retain(|e: &u64| e % 5 != 0);
                reference.retain(|r: &(u64, u64)| r.1 % 5 != 0);
            } else if x % 3 == 0 && !reference.is_empty() {
                let (t, e) = q.pop().unwrap();
                let want = reference.pop_first().unwrap();
                assert_eq!((t.0, e), want);
                now = t.0;
                assert_eq!(q.len(), reference.len());
            } else {
                // Mostly near-future events, some far ahead, some at `now`.
                let ahead = match x % 7 {
                    0 => 0,
                    1 => (x >> 20) % 10_000_000,
                    _ => (x >> 20) % 1_000,
                };
                q.push(SimTime(now + ahead), seq);
                reference.insert((now + ahead, seq));
                seq += 1;
            }
            assert_eq!(q.peek_time().map(|t| t.0), reference.first().map(|r| r.0));
        }
    }
}
