//! Response bodies: a whole buffer, or one of the streaming fault bodies (drip, huge).
//!
//! Streaming bodies own the request's [`InFlight`] guard, so a request stays "in flight" in the
//! stats until its body has been fully produced or the client went away.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::stats::InFlight;

/// Bytes the drip body cycles through, one per second.
const DRIP_TEXT: &[u8] =
    b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>drip</title>";

/// A response body served by the farm.
#[derive(Debug)]
pub enum FarmBody {
    /// A complete body (possibly empty); its exact length becomes `Content-Length`.
    Full(Option<Bytes>),
    /// One byte per second, forever.
    Drip {
        /// Fires when the next byte is due.
        sleep: Pin<Box<Sleep>>,
        /// Position in [`DRIP_TEXT`].
        pos: usize,
        /// Keeps the request counted as in flight.
        _guard: Option<InFlight>,
    },
    /// A fixed sequence of chunks: header, the same block many times, footer.
    Chunks {
        /// Header chunk, sent first.
        head: Option<Bytes>,
        /// Block repeated `repeats` times.
        block: Bytes,
        /// Blocks still to send.
        repeats: u64,
        /// Footer chunk, sent last.
        tail: Option<Bytes>,
        /// Keeps the request counted as in flight until the footer is out.
        guard: Option<InFlight>,
    },
}

impl FarmBody {
    /// An empty body (304, redirects, errors without text).
    pub fn empty() -> Self {
        FarmBody::Full(None)
    }

    /// A complete body.
    pub fn full(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        FarmBody::Full((!b.is_empty()).then_some(b))
    }

    /// The never-ending one-byte-per-second body.
    pub fn drip(guard: InFlight) -> Self {
        FarmBody::Drip {
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            pos: 0,
            _guard: Some(guard),
        }
    }

    /// `head`, then `block` `repeats` times, then `tail`, streamed without buffering.
    pub fn chunks(head: Bytes, block: Bytes, repeats: u64, tail: Bytes, guard: InFlight) -> Self {
        FarmBody::Chunks {
            head: Some(head),
            block,
            repeats,
            tail: Some(tail),
            guard: Some(guard),
        }
    }
}

impl Body for FarmBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            FarmBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            FarmBody::Drip { sleep, pos, .. } => {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let byte = Bytes::from_static(&DRIP_TEXT[*pos..*pos + 1]);
                *pos = (*pos + 1) % DRIP_TEXT.len();
                let next = Instant::now() + Duration::from_secs(1);
                sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(Frame::data(byte))))
            }
            FarmBody::Chunks {
                head,
                block,
                repeats,
                tail,
                guard,
            } => {
                if let Some(h) = head.take() {
                    return Poll::Ready(Some(Ok(Frame::data(h))));
                }
                if *repeats > 0 {
                    *repeats -= 1;
                    return Poll::Ready(Some(Ok(Frame::data(block.clone()))));
                }
                if let Some(t) = tail.take() {
                    return Poll::Ready(Some(Ok(Frame::data(t))));
                }
                guard.take();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, FarmBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FarmBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            // Streams are sent chunked: clients must enforce their own size cap while reading.
            _ => SizeHint::default(),
        }
    }
}
