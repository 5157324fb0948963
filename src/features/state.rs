//! One symbol's continuity: the feature state machine.
//!
//! ```text
//!   Warming ──(T complete rows in a row)──▶ Ready ──(no bar for stale_after on the clock)──▶ Stale
//!                                           ▲  │                                             │
//!                                           │  └──(next bar after a gap > fill limit)──┐  (next bar)
//!                                           └──────(T complete rows)────────── Resync ◀┴─────┘
//! ```
//!
//! A long gap is only seen when the bar after it arrives, so that bar resets the symbol straight
//! into Resync (a `Reset` step); Stale is the phase of a symbol that is silent *now*.
//!
//! In: bars of one symbol (closed or in-progress), plus a clock tick for silence. Out: [`Step`]s
//! through a callback: each bar that went through the indicators (real, or a gap filler) with its
//! raw feature row, and a `Reset` whenever the indicators were wiped, so the caller drops the rows
//! it kept. Training, export and serving all drive this type, so they see the same rows.
//!
//! Policies, each counted by the caller:
//! * Out-of-order bars (open time before the last one) are dropped.
//! * Duplicates are idempotent: an in-progress bar replaces the pending in-progress bar of the
//!   same open time; a closed bar whose open time was already processed is ignored.
//! * A short gap (≤ `fill_gap_bars` missing bars), typical of sparse markets where a minute
//!   without trades has no bar, is filled by carrying the last close with zero volume, so the
//!   indicators keep their time base (fillers see the quote of the bar before them). A longer gap,
//!   or a bar after the symbol was Stale, resets the indicators and the symbol re-warms (Resync)
//!   before any window, because a window spanning a hole would silently mix two regimes.
//! * Bars must open on the interval's grid counted from the epoch (exchanges' klines do, for
//!   intervals up to a day); an off-grid bar is rejected as `Misaligned`.

use super::compute::{FeatureComputer, TopOfBook};
use super::spec::FeatureSpec;
use crate::event::Bar;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Since the first bar: indicators or the window not yet full.
    Warming,
    /// T contiguous complete rows: windows are emitted.
    Ready,
    /// Silent for longer than `stale_after` on the engine's clock: no windows until data comes
    /// back (and then it resyncs).
    Stale,
    /// Data came back after Stale, or after a gap too long to fill: warming up again.
    Resync,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Warming => "warming",
            Phase::Ready => "ready",
            Phase::Stale => "stale",
            Phase::Resync => "resync",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// open time before the last processed bar's (late).
    OutOfOrder,
    /// close − open + 1 ms differs from the configured interval.
    WrongInterval,
    /// The open time is not on the interval's grid (a multiple of the interval since the epoch).
    Misaligned,
    /// A non-positive or non-finite price or a negative or non-finite volume.
    InvalidValues,
}

/// What became of a bar that was not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Closed and processed (after any gap fillers).
    Processed,
    /// In-progress: kept as the pending bar of its interval (replacing an older update).
    Pending,
    /// A closed bar whose interval was already processed: ignored.
    Duplicate,
}

/// One thing the state machine did, reported to the caller in order.
#[derive(Debug)]
pub enum Step<'a> {
    /// The indicators were wiped after `missing_bars` missing bars (a long gap or silence):
    /// rows kept from before no longer belong to the current segment.
    Reset { missing_bars: u64 },
    /// A bar went through the indicators.
    Bar {
        bar: &'a Bar,
        /// A gap filler (last close carried, zero volume), not a bar from the data.
        filled: bool,
        /// The raw feature row: NaN where a feature is still warming up.
        row: &'a [f64],
        /// Every value of `row` is finite.
        complete: bool,
        /// The phase after this bar.
        phase: Phase,
    },
}

/// Gap and staleness policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatePolicy {
    pub interval_ms: i64,
    /// T: complete contiguous rows before Ready.
    pub seq_len: usize,
    /// Gaps of up to this many missing bars are filled; longer ones make the symbol Stale.
    pub fill_gap_bars: u32,
    /// `on_clock` marks a symbol Stale when its last bar closed longer ago than this.
    pub stale_after_ms: i64,
}

impl StatePolicy {
    /// No filling; stale only through gaps.
    pub fn strict(interval_ms: i64, seq_len: usize) -> Self {
        Self {
            interval_ms,
            seq_len,
            fill_gap_bars: 0,
            stale_after_ms: i64::MAX,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SymbolState {
    computer: FeatureComputer,
    policy: StatePolicy,
    last: Option<Bar>,
    pending: Option<Bar>,
    /// The quote the last processed bar saw (for the fillers after it).
    last_quote: Option<TopOfBook>,
    phase: Phase,
    /// Complete rows in a row since the last reset or incomplete row.
    run: usize,
    row: Vec<f64>,
}

impl SymbolState {
    pub fn new(spec: &FeatureSpec, policy: StatePolicy) -> Self {
        Self {
            computer: FeatureComputer::new(spec),
            policy,
            last: None,
            pending: None,
            last_quote: None,
            phase: Phase::Warming,
            run: 0,
            row: Vec::with_capacity(spec.len()),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The latest in-progress bar, if its interval has not closed yet.
    pub fn pending(&self) -> Option<&Bar> {
        self.pending.as_ref()
    }

    /// Close time of the last processed bar.
    pub fn last_close_ms(&self) -> Option<i64> {
        self.last.as_ref().map(|b| b.close_time_ms)
    }

    /// Bars needed after a reset before the first complete row.
    pub fn lookback(&self) -> usize {
        self.computer.lookback()
    }

    /// Feeds one bar; `quote` is the symbol's latest top of book, if quotes stream in.
    pub fn on_bar(
        &mut self,
        bar: &Bar,
        quote: Option<&TopOfBook>,
        mut step: impl FnMut(Step<'_>),
    ) -> Result<Accepted, RejectReason> {
        self.check(bar)?;
        // Bars open on the interval's grid counted from the Unix epoch, as exchanges' klines do
        // (for intervals up to a day). Checking every bar against the absolute grid, not against
        // the previous bar, means one off-grid bar can never lock a symbol out.
        if bar.open_time_ms.rem_euclid(self.policy.interval_ms) != 0 {
            return Err(RejectReason::Misaligned);
        }
        let last_open = self.last.as_ref().map(|b| b.open_time_ms);
        if let Some(prev) = last_open {
            if bar.open_time_ms < prev {
                return Err(RejectReason::OutOfOrder);
            }
            if bar.open_time_ms == prev {
                return Ok(Accepted::Duplicate);
            }
        }
        if !bar.closed {
            self.pending = Some(bar.clone());
            return Ok(Accepted::Pending);
        }
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.open_time_ms <= bar.open_time_ms)
        {
            self.pending = None;
        }
        if let Some(prev) = last_open {
            // Both on the grid and prev < open, so the difference is a positive multiple of the
            // interval; i128 because two extreme i64 times can be further apart than i64 holds.
            let steps = (i128::from(bar.open_time_ms) - i128::from(prev))
                / i128::from(self.policy.interval_ms);
            let missing = u64::try_from(steps - 1).unwrap_or(u64::MAX);
            if self.phase == Phase::Stale || missing > u64::from(self.policy.fill_gap_bars) {
                self.reset(missing, &mut step);
            } else {
                // Fillers see the quote of the bar they follow, never one from after them.
                let before = self.last_quote;
                for k in 1..=missing {
                    self.fill(
                        prev + k as i64 * self.policy.interval_ms,
                        before.as_ref(),
                        &mut step,
                    );
                }
            }
        }
        self.process(bar, false, quote, &mut step);
        self.last = Some(bar.clone());
        self.last_quote = quote.copied();
        Ok(Accepted::Processed)
    }

    /// Marks the symbol Stale when its last bar closed more than `stale_after_ms` before `now_ms`.
    /// Returns true when this call made it Stale.
    pub fn on_clock(&mut self, now_ms: i64) -> bool {
        let silent = self
            .last_close_ms()
            .is_some_and(|t| now_ms.saturating_sub(t) > self.policy.stale_after_ms);
        if silent && self.phase != Phase::Stale {
            self.phase = Phase::Stale;
            return true;
        }
        false
    }

    /// A source lost data up to `to_ms`: unless a bar after the hole was already processed, the
    /// symbol goes Stale, so the next bar re-warms it instead of filling the hole with carried
    /// closes. Returns true when this call made it Stale.
    pub fn on_gap(&mut self, to_ms: i64) -> bool {
        self.pending = None;
        // Nothing processed yet means nothing to re-warm; a bar past the hole means it is old news.
        let covered = self.last.as_ref().is_none_or(|b| b.open_time_ms > to_ms);
        if covered || self.phase == Phase::Stale {
            return false;
        }
        self.phase = Phase::Stale;
        true
    }

    fn reset(&mut self, missing: u64, step: &mut impl FnMut(Step<'_>)) {
        self.computer.reset();
        self.run = 0;
        self.phase = Phase::Resync;
        step(Step::Reset {
            missing_bars: missing,
        });
    }

    fn fill(
        &mut self,
        open_time_ms: i64,
        quote: Option<&TopOfBook>,
        step: &mut impl FnMut(Step<'_>),
    ) {
        let close = self.last.as_ref().map_or(0.0, |b| b.close);
        let filler = Bar {
            open_time_ms,
            close_time_ms: open_time_ms + self.policy.interval_ms - 1,
            open: close,
            high: close,
            low: close,
            close,
            volume: 0.0,
            quote_volume: 0.0,
            trades: 0,
            taker_buy_volume: 0.0,
            closed: true,
        };
        self.process(&filler, true, quote, step);
    }

    fn process(
        &mut self,
        bar: &Bar,
        filled: bool,
        quote: Option<&TopOfBook>,
        step: &mut impl FnMut(Step<'_>),
    ) {
        let complete = self.computer.update_into(bar, quote, &mut self.row);
        self.run = if complete { self.run + 1 } else { 0 };
        if self.run >= self.policy.seq_len {
            self.phase = Phase::Ready;
        } else if self.phase == Phase::Ready {
            // An incomplete row (say a quote feature without quotes) breaks the window.
            self.phase = Phase::Resync;
        }
        step(Step::Bar {
            bar,
            filled,
            row: &self.row,
            complete,
            phase: self.phase,
        });
    }

    fn check(&self, bar: &Bar) -> Result<(), RejectReason> {
        let span = bar
            .close_time_ms
            .checked_sub(bar.open_time_ms)
            .and_then(|d| d.checked_add(1));
        if span != Some(self.policy.interval_ms) {
            return Err(RejectReason::WrongInterval);
        }
        let prices = [bar.open, bar.high, bar.low, bar.close];
        let prices_ok = prices.iter().all(|p| p.is_finite() && *p > 0.0);
        let volumes_ok = [bar.volume, bar.taker_buy_volume]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0);
        if !(prices_ok && volumes_ok && bar.quote_volume.is_finite()) {
            return Err(RejectReason::InvalidValues);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(minute: i64, close: f64) -> Bar {
        Bar {
            open_time_ms: minute * 60_000,
            close_time_ms: minute * 60_000 + 59_999,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
            quote_volume: close,
            trades: 1,
            taker_buy_volume: 0.5,
            closed: true,
        }
    }

    /// What the callback saw, flattened for assertions.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Reset(u64),
        Bar {
            minute: i64,
            filled: bool,
            complete: bool,
            phase: Phase,
            volume: f64,
        },
    }

    fn feed(s: &mut SymbolState, b: &Bar) -> (Result<Accepted, RejectReason>, Vec<Seen>) {
        let mut seen = Vec::new();
        let r = s.on_bar(b, None, |st| {
            seen.push(match st {
                Step::Reset { missing_bars } => Seen::Reset(missing_bars),
                Step::Bar {
                    bar,
                    filled,
                    complete,
                    phase,
                    ..
                } => Seen::Bar {
                    minute: bar.open_time_ms / 60_000,
                    filled,
                    complete,
                    phase,
                    volume: bar.volume,
                },
            })
        });
        (r, seen)
    }

    fn policy(fill: u32) -> StatePolicy {
        StatePolicy {
            interval_ms: 60_000,
            seq_len: 2,
            fill_gap_bars: fill,
            stale_after_ms: 5 * 60_000,
        }
    }

    /// log_return_1 needs one earlier bar; T = 2, so Ready at the third bar.
    fn state(fill: u32) -> SymbolState {
        let spec = FeatureSpec::new(&["log_return_1", "taker_buy_ratio"]).unwrap();
        SymbolState::new(&spec, policy(fill))
    }

    fn seen_bar(minute: i64, filled: bool, complete: bool, phase: Phase) -> Seen {
        Seen::Bar {
            minute,
            filled,
            complete,
            phase,
            volume: if filled { 0.0 } else { 1.0 },
        }
    }

    fn ready(fill: u32) -> SymbolState {
        let mut s = state(fill);
        let phases: Vec<Phase> = (0..3)
            .map(|m| {
                assert_eq!(
                    feed(&mut s, &bar(m, 10.0 + m as f64)).0,
                    Ok(Accepted::Processed)
                );
                s.phase()
            })
            .collect();
        assert_eq!(phases, [Phase::Warming, Phase::Warming, Phase::Ready]);
        s
    }

    #[test]
    fn warming_then_ready_once_t_complete_rows_are_in() {
        let mut s = state(0);
        assert_eq!(
            feed(&mut s, &bar(0, 10.0)).1,
            [seen_bar(0, false, false, Phase::Warming)]
        );
        assert_eq!(
            feed(&mut s, &bar(1, 11.0)).1,
            [seen_bar(1, false, true, Phase::Warming)]
        );
        assert_eq!(
            feed(&mut s, &bar(2, 12.0)).1,
            [seen_bar(2, false, true, Phase::Ready)]
        );
    }

    #[test]
    fn short_gap_is_filled_with_the_last_close_and_zero_volume() {
        let mut s = ready(2);
        let (r, seen) = feed(&mut s, &bar(5, 13.0));
        assert_eq!(r, Ok(Accepted::Processed));
        assert_eq!(
            seen,
            [
                seen_bar(3, true, true, Phase::Ready),
                seen_bar(4, true, true, Phase::Ready),
                seen_bar(5, false, true, Phase::Ready),
            ]
        );
    }

    #[test]
    fn filled_bars_carry_the_last_close() {
        let mut s = ready(1);
        let mut closes = Vec::new();
        s.on_bar(&bar(4, 20.0), None, |st| {
            if let Step::Bar { bar, row, .. } = st {
                closes.push((bar.open, bar.high, bar.low, bar.close, row[0]));
            }
        })
        .unwrap();
        // Bar 2 closed at 12: the filler is flat at 12 (log return 0), then 12 → 20.
        assert_eq!(closes[0], (12.0, 12.0, 12.0, 12.0, 0.0));
        assert!((closes[1].4 - (20.0f64 / 12.0).ln()).abs() < 1e-12);
    }

    #[test]
    fn long_gap_goes_stale_then_resyncs_to_ready() {
        let mut s = ready(2);
        let (r, seen) = feed(&mut s, &bar(6, 13.0));
        assert_eq!(r, Ok(Accepted::Processed));
        assert_eq!(
            seen,
            [Seen::Reset(3), seen_bar(6, false, false, Phase::Resync)]
        );
        assert_eq!(
            feed(&mut s, &bar(7, 13.0)).1,
            [seen_bar(7, false, true, Phase::Resync)]
        );
        assert_eq!(
            feed(&mut s, &bar(8, 13.0)).1,
            [seen_bar(8, false, true, Phase::Ready)]
        );
    }

    #[test]
    fn a_gap_event_is_a_hole_not_quiet_minutes() {
        // fill = 10 would carry the close over one missing minute; a source-marked gap must not.
        let mut s = ready(10);
        assert!(s.on_gap(4 * 60_000 - 1));
        assert_eq!(s.phase(), Phase::Stale);
        assert!(!s.on_gap(4 * 60_000 - 1), "already stale");
        assert_eq!(
            feed(&mut s, &bar(4, 13.0)).1,
            [Seen::Reset(1), seen_bar(4, false, false, Phase::Resync)]
        );
        // A gap that ends before the last processed bar changes nothing.
        assert!(!s.on_gap(3 * 60_000));
        assert_ne!(s.phase(), Phase::Stale);
        // Before any bar there is nothing to re-warm.
        assert!(!state(0).on_gap(60_000));
    }

    #[test]
    fn silence_on_the_clock_goes_stale_and_the_next_bar_resyncs() {
        let mut s = ready(10);
        // Bar 2 closed at 2:59.999; stale after 5 minutes of silence.
        assert!(!s.on_clock(8 * 60_000 - 1));
        assert!(s.on_clock(8 * 60_000));
        assert!(!s.on_clock(9 * 60_000), "already stale");
        assert_eq!(s.phase(), Phase::Stale);
        // Even a gap short enough to fill resyncs once the symbol was declared stale.
        let (_, seen) = feed(&mut s, &bar(4, 13.0));
        assert_eq!(
            seen,
            [Seen::Reset(1), seen_bar(4, false, false, Phase::Resync)]
        );
    }

    #[test]
    fn duplicates_are_idempotent_and_pending_bars_are_replaced() {
        let mut s = ready(0);
        let before = s.last.clone();
        assert_eq!(
            feed(&mut s, &bar(2, 99.0)),
            (Ok(Accepted::Duplicate), vec![])
        );
        assert_eq!(s.last, before, "a closed duplicate changes nothing");
        let mut open = bar(3, 12.5);
        open.closed = false;
        assert_eq!(feed(&mut s, &open), (Ok(Accepted::Pending), vec![]));
        open.close = 12.7;
        assert_eq!(feed(&mut s, &open), (Ok(Accepted::Pending), vec![]));
        assert_eq!(s.pending().map(|b| b.close), Some(12.7));
        let (r, seen) = feed(&mut s, &bar(3, 12.8));
        assert_eq!(r, Ok(Accepted::Processed));
        assert_eq!(seen, [seen_bar(3, false, true, Phase::Ready)]);
        assert!(s.pending().is_none());
    }

    #[test]
    fn an_off_grid_first_bar_is_rejected_and_locks_nothing_out() {
        let mut s = state(0);
        let mut off = bar(0, 10.0);
        off.open_time_ms += 30_000;
        off.close_time_ms += 30_000;
        assert_eq!(feed(&mut s, &off).0, Err(RejectReason::Misaligned));
        assert_eq!(feed(&mut s, &bar(2, 10.0)).0, Ok(Accepted::Processed));
        assert_eq!(feed(&mut s, &bar(3, 11.0)).0, Ok(Accepted::Processed));
    }

    #[test]
    fn extreme_timestamps_reset_instead_of_overflowing() {
        let mut s = state(3);
        let far_past = (i64::MIN / 60_000) * 60_000;
        let mut b = bar(0, 10.0);
        b.open_time_ms = far_past;
        b.close_time_ms = far_past + 59_999;
        assert_eq!(feed(&mut s, &b).0, Ok(Accepted::Processed));
        let (r, seen) = feed(&mut s, &bar(0, 10.0));
        assert_eq!(r, Ok(Accepted::Processed));
        assert!(matches!(seen[0], Seen::Reset(_)), "{seen:?}");
    }

    #[test]
    fn late_misaligned_wrong_interval_and_invalid_bars_are_rejected_without_state_change() {
        let mut s = ready(0);
        let reject = |r| (Err(r), vec![]);
        assert_eq!(
            feed(&mut s, &bar(1, 11.0)),
            reject(RejectReason::OutOfOrder)
        );
        let mut five = bar(3, 11.0);
        five.close_time_ms += 240_000;
        assert_eq!(feed(&mut s, &five), reject(RejectReason::WrongInterval));
        let mut off = bar(3, 11.0);
        off.open_time_ms += 1_000;
        off.close_time_ms += 1_000;
        assert_eq!(feed(&mut s, &off), reject(RejectReason::Misaligned));
        assert_eq!(
            feed(&mut s, &bar(3, 0.0)),
            reject(RejectReason::InvalidValues)
        );
        let mut nan = bar(3, 11.0);
        nan.volume = f64::NAN;
        assert_eq!(feed(&mut s, &nan), reject(RejectReason::InvalidValues));
        let mut huge = bar(3, 11.0);
        huge.open_time_ms = i64::MIN;
        assert_eq!(feed(&mut s, &huge), reject(RejectReason::WrongInterval));
        // None of that moved the state: the next real bar continues the segment.
        assert_eq!(
            feed(&mut s, &bar(3, 11.0)).1,
            [seen_bar(3, false, true, Phase::Ready)]
        );
    }
}
