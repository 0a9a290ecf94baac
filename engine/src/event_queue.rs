//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Events scheduled for the same instant pop in the order they were scheduled
//! (FIFO), which makes runs reproducible. Cancellation is lazy: the owner of a
//! cancellable event bumps a generation counter and the stale event is skipped
//! when it is popped, never searched for.
//!
//! Many events are scheduled a few microseconds ahead (a core's wake-up, a
//! short burst) and are the very next to happen. The earliest event is kept
//! out of the heap, in `first`, so such an event costs no heap push and pop;
//! the order popped is the same `(time, sequence)` order.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Time in the high 64 bits, insertion sequence in the low 64 bits: one
/// integer comparison orders by `(time, sequence)`.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn time(&self) -> SimTime {
        SimTime((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}

/// A priority queue of events keyed by `(time, insertion order)`.
pub struct EventQueue<E> {
    /// The earliest pending event, when it is not in the heap: every key in
    /// the heap is greater.
    first: Option<Entry<E>>,
    heap: BinaryHeap<Entry<E>>,
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
            next_seq: 0,
        }
    }
    /// Schedules `event` at `time`. *O*(log *N*).
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let new = Entry {
            key: (u128::from(time.0) << 64) | u128::from(seq),
            event,
        };
        match &self.first {
            Some(first) if new.key < first.key => {
                if let Some(old) = self.first.replace(new) {
                    self.heap.push(old);
                }
            }
            Some(_) => self.heap.push(new),
            None if self.heap.peek().is_none_or(|top| new.key < top.key) => self.first = Some(new),
            None => self.heap.push(new),
        }
    }
    /// Removes and returns the earliest event (FIFO among equal times). *O*(log *N*).
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.first
            .take()
            .or_else(|| self.heap.pop())
            .map(|e| (e.time(), e.event))
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.first
            .as_ref()
            .or_else(|| self.heap.peek())
            .map(|e| e.time())
    }
    /// Drops every pending event for which `live` is false, keeping the order
    /// of the rest. *O*(*N*); the kernel calls it rarely, to bound memory.
    pub fn retain(&mut self, mut live: impl FnMut(&E) -> bool) {
        if self.first.as_ref().is_some_and(|e| !live(&e.event)) {
            self.first = None;
        }
        self.heap.retain(|e| live(&e.event));
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
