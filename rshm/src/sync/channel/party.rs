//! The many-party shapes behind one `Channel` handle: which shape and end a
//! handle is, and each call sent to that end's code (`many`, `broadcast`).
//! A pair (the SPSC channel) has no `Party`: its calls never come here.

use super::{broadcast, many, named_call, Role};
use crate::error::{msg, Call, Error, ErrorKind, Result};
use std::mem::MaybeUninit;
use std::time::Duration;

/// What a channel is: its shape, fixed when it is made and read from its
/// segment when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// One sender, one receiver (the default).
    Pair,
    /// Up to `max_peers` senders, one receiver: every message exactly once,
    /// each sender's in the order it sent them.
    ManySenders,
    /// One sender, up to `max_peers` receivers: each gets every message sent
    /// after it opened, unless it falls a ring behind (`Lagged`).
    Broadcast,
}

impl Shape {
    /// The shape's name, as messages show it.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Pair => "single-sender single-receiver",
            Shape::ManySenders => "many-senders",
            Shape::Broadcast => "broadcast",
        }
    }
}

/// One end of a many-party channel.
#[derive(Debug)]
pub(super) enum Party {
    ManySender(many::Sender),
    ManyReceiver(many::Receiver),
    BroadcastSender(broadcast::Sender),
    BroadcastReceiver(broadcast::Receiver),
}

/// `InvalidArgument`: this end is not the one the call is for.
fn wrong_end(role: Role, call: Call) -> Error {
    let reason = match role {
        Role::Sender => msg!("this is the sending end"),
        Role::Receiver => msg!("this is the receiving end"),
    };
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

impl Party {
    pub(super) fn shape(&self) -> Shape {
        match self {
            Party::ManySender(_) | Party::ManyReceiver(_) => Shape::ManySenders,
            Party::BroadcastSender(_) | Party::BroadcastReceiver(_) => Shape::Broadcast,
        }
    }

    fn role(&self) -> Role {
        match self {
            Party::ManySender(_) | Party::BroadcastSender(_) => Role::Sender,
            Party::ManyReceiver(_) | Party::BroadcastReceiver(_) => Role::Receiver,
        }
    }

    pub(super) fn send(&mut self, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        match self {
            Party::ManySender(sender) => sender.send(message, timeout),
            Party::BroadcastSender(sender) => sender.send(message),
            _ => Err(wrong_end(
                self.role(),
                super::ch_call("channel_send", message.len()),
            )),
        }
    }

    pub(super) fn recv_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        match self {
            Party::ManyReceiver(receiver) => receiver.recv_uninit(buf, timeout),
            Party::BroadcastReceiver(receiver) => receiver.recv_uninit(buf, timeout),
            _ => Err(wrong_end(
                self.role(),
                super::ch_call("channel_recv", buf.len()),
            )),
        }
    }

    pub(super) fn reserve(&mut self, len: usize, timeout: Option<Duration>) -> Result<*mut u8> {
        match self {
            Party::ManySender(sender) => sender.reserve(len, timeout),
            Party::BroadcastSender(sender) => sender.reserve(len),
            _ => Err(wrong_end(
                self.role(),
                super::ch_call("channel_reserve", len),
            )),
        }
    }

    pub(super) fn commit(&mut self, len: usize) -> Result<()> {
        match self {
            Party::ManySender(sender) => sender.commit(len),
            Party::BroadcastSender(sender) => sender.commit(len),
            _ => Err(wrong_end(
                self.role(),
                super::ch_call("channel_commit", len),
            )),
        }
    }

    pub(super) fn cancel(&mut self) -> Result<()> {
        match self {
            Party::ManySender(sender) => sender.cancel(),
            Party::BroadcastSender(sender) => sender.cancel(),
            _ => Err(wrong_end(self.role(), named_call("channel_cancel"))),
        }
    }

    pub(super) fn peek(&mut self, timeout: Option<Duration>) -> Result<(*const u8, usize)> {
        match self {
            Party::ManyReceiver(receiver) => receiver.peek(timeout),
            Party::BroadcastReceiver(receiver) => receiver.peek(timeout),
            _ => Err(wrong_end(self.role(), named_call("channel_peek"))),
        }
    }

    pub(super) fn release(&mut self) -> Result<()> {
        match self {
            Party::ManyReceiver(receiver) => receiver.release(),
            Party::BroadcastReceiver(receiver) => receiver.release(),
            _ => Err(wrong_end(self.role(), named_call("channel_release"))),
        }
    }

    pub(super) fn pending_len(&self) -> Option<usize> {
        match self {
            Party::ManyReceiver(receiver) => receiver.pending_len(),
            Party::BroadcastReceiver(receiver) => receiver.pending_len(),
            _ => None,
        }
    }

    /// The channel's largest reservation, the same at every end (as a pair's):
    /// for a receiver, the largest message its senders can reserve, which
    /// `peek` always lends in one piece.
    pub(super) fn max_reservation(&self) -> usize {
        match self {
            Party::ManySender(sender) => sender.max_reservation(),
            Party::ManyReceiver(receiver) => receiver.max_reservation(),
            Party::BroadcastSender(sender) => sender.max_reservation(),
            Party::BroadcastReceiver(receiver) => receiver.max_reservation(),
        }
    }

    pub(super) fn missed(&self) -> u64 {
        match self {
            Party::BroadcastReceiver(receiver) => receiver.missed(),
            _ => 0,
        }
    }

    pub(super) fn close(&mut self) {
        match self {
            Party::ManySender(sender) => sender.close(),
            Party::ManyReceiver(receiver) => receiver.close(),
            Party::BroadcastSender(sender) => sender.close(),
            Party::BroadcastReceiver(receiver) => receiver.close(),
        }
    }
}
