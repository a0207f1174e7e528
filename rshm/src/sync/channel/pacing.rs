//! How a receiver keeps out of a streaming sender's way.
//!
//! A receiver that is faster than its sender catches up with it and then
//! reads each line of the ring as the sender writes it: its reads (and its
//! prefetcher's) take lines the sender is still filling, the sender takes
//! them back, and every line crosses between the CPUs two or three times.
//! Throughput drops to a fifth, and stays there, since the receiver keeps
//! catching up. So when the ring runs dry right after a message that was
//! already waiting (the sign of a stream), the receiver first stays away
//! from the ring for a short pause, during which the sender gets ahead; it
//! then reads whole lines the sender is done with. A receiver that had to
//! wait for its last message (a request and its answer, a sparse stream)
//! polls at once, so latency is untouched.
//!
//! The pause adapts: it doubles while each one leaves a batch of messages
//! waiting (a dense stream) and halves while it finds next to nothing (the
//! stream has ended or is sparse), between [`MIN_PAUSE`] and [`MAX_PAUSE`]
//! spins (about 0.25 and 16 µs where a spin is the 16 ns of a `pause`).

/// The shortest pause, in spins of `std::hint::spin_loop`.
const MIN_PAUSE: u32 = 16;
/// The longest pause.
const MAX_PAUSE: u32 = 1024;
/// Messages found after a pause that make the next one longer.
const DENSE: u32 = 16;
/// Fewer messages than this after a pause make the next one shorter.
const SPARSE: u32 = 4;

/// A receiving end's pacing state (private memory).
#[derive(Debug, Clone, Copy)]
pub(super) struct Pacing {
    /// The last message was there without waiting.
    streaming: bool,
    /// The next pause's length, in spins.
    pause: u32,
    /// A pause was taken and no wait has happened since.
    paused: bool,
    /// Messages taken without waiting since the last pause.
    since_pause: u32,
    /// The next message was waited for by a call that then left it in the
    /// ring (a buffer too small, a message too long to lend).
    waited_for_next: bool,
}

impl Pacing {
    pub(super) const fn new() -> Pacing {
        Pacing {
            streaming: false,
            pause: 4 * MIN_PAUSE,
            paused: false,
            since_pause: 0,
            waited_for_next: false,
        }
    }

    /// Whether the last message was there without waiting: a dry ring now
    /// ends a stream, and [`on_empty`](Self::on_empty) gives a pause.
    pub(super) fn streaming(&self) -> bool {
        self.streaming
    }

    /// The ring ran dry: how many spins to stay away from it first (0: poll now).
    pub(super) fn on_empty(&mut self) -> u32 {
        if !self.streaming {
            return 0;
        }
        self.streaming = false;
        if self.paused {
            if self.since_pause >= DENSE {
                self.pause = (self.pause * 2).min(MAX_PAUSE);
            } else if self.since_pause < SPARSE {
                self.pause = (self.pause / 2).max(MIN_PAUSE);
            }
        }
        self.paused = true;
        self.since_pause = 0;
        self.pause
    }

    /// A call found the next message (`waited`: after waiting for it) but left
    /// it in the ring: the call that takes it counts as having waited too.
    pub(super) fn not_taken(&mut self, waited: bool) {
        self.waited_for_next |= waited;
    }

    /// A message was taken; `waited` says whether the call waited for it.
    pub(super) fn on_message(&mut self, waited: bool) {
        let waited = waited || std::mem::take(&mut self.waited_for_next);
        self.streaming = !waited;
        if waited {
            self.paused = false;
        } else {
            self.since_pause = self.since_pause.saturating_add(1);
        }
    }
}

/// Stays away from shared memory for `spins` spins.
pub(super) fn stay_away(spins: u32) {
    for _ in 0..spins {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stream_pauses_and_the_pause_follows_its_density() {
        let mut pacing = Pacing::new();
        // A request and its answer: every message waited for, never a pause.
        for _ in 0..10 {
            assert_eq!(pacing.on_empty(), 0);
            pacing.on_message(true);
        }
        // A stream: a message that was there, then a dry ring: a pause.
        pacing.on_message(false);
        let first = pacing.on_empty();
        assert_eq!(first, 4 * MIN_PAUSE);
        // Dense: each pause leaves many messages; the pause doubles up to the longest.
        let mut pause = first;
        for _ in 0..10 {
            for _ in 0..DENSE {
                pacing.on_message(false);
            }
            let next = pacing.on_empty();
            assert_eq!(next, (pause * 2).min(MAX_PAUSE));
            pause = next;
        }
        assert_eq!(pause, MAX_PAUSE);
        // Sparse: one message after each pause; it halves down to the shortest.
        for _ in 0..10 {
            pacing.on_message(false);
            let next = pacing.on_empty();
            assert_eq!(next, (pause / 2).max(MIN_PAUSE));
            pause = next;
        }
        assert_eq!(pause, MIN_PAUSE);
        // A wait ends the stream: the next dry ring is polled at once.
        pacing.on_message(true);
        assert_eq!(pacing.on_empty(), 0);
        // So does a wait for a message that a first call left in the ring
        // (its buffer too small) and a second call then took without waiting.
        pacing.not_taken(true);
        pacing.on_message(false);
        assert_eq!(pacing.on_empty(), 0);
    }
}
